"""sigx from Python: run pipelines, read their results, apply and stream saved models.

    import sigx
    run = sigx.run("pipelines/quickstart.toml", quiet=True)
    y = sigx.load(run.path, "lstm").apply(x, rate=1000.0)   # components x samples

Everything goes through the same C++ host as the ``sigx`` command: the same plugins,
the same validation and the same messages (raised as ``sigx.Error``). Arrays are
float64 samples, or channels x samples; a C-contiguous float64 array is read in place,
anything else is converted once. The GIL is released while C++ computes. Model plugins
written in Python are described in docs/python.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy  # noqa: F401  (eagerly: every array in and out is numpy's)

from . import _sigx
from ._sigx import ConfigError, Error, PluginError

__version__: str = _sigx.__version__
__all__ = ["Error", "ConfigError", "PluginError", "Model", "Run", "Stream", "load", "plugins", "run", "validate",
           "__version__"]

PathLike = Union[str, "os.PathLike[str]"]


def _paths(plugin_paths: Optional[Iterable[PathLike]]) -> list:
    return [os.fspath(p) for p in (plugin_paths or [])]


def plugins(plugin_paths: Optional[Iterable[PathLike]] = None) -> list:
    """The plugins sigx finds (built-in, ``SIGX_PLUGIN_PATH``, then ``plugin_paths``), as
    ``sigx plugins`` lists them: one dict each with name, kind, version, description and
    library. Libraries that were rejected are listed by ``rejected_plugins()``."""
    found, _ = _sigx.plugins(_paths(plugin_paths))
    return found


def rejected_plugins(plugin_paths: Optional[Iterable[PathLike]] = None) -> list:
    """(library, reason) for every library on the plugin path that is not a usable plugin."""
    _, rejected = _sigx.plugins(_paths(plugin_paths))
    return rejected


def validate(pipeline: PathLike, overrides: Sequence[str] = (), plugin_paths: Optional[Iterable[PathLike]] = None) -> str:
    """Checks a pipeline file as ``sigx validate`` does (every key, every value, every
    plugin constructed) and returns its one-line summary; raises ``sigx.ConfigError`` or
    ``sigx.PluginError`` with the CLI's message (file:line:column) otherwise."""
    return _sigx.validate(os.fspath(pipeline), list(overrides), _paths(plugin_paths))


def _check_names(**names) -> None:
    """The one rule for names that become paths (sigx's own): '../x' is refused, not opened."""
    for what, name in names.items():
        problem = _sigx.name_problem(what.replace("_", " ") + " name", str(name))
        if problem:
            raise Error(problem)


class Run:
    """A finished run directory: what ``sigx run`` wrote, read back."""

    def __init__(self, path: PathLike):
        self.path = Path(path)
        if not (self.path / "metrics.json").is_file():
            raise Error(f"{self.path}: not a finished run directory (no metrics.json)")

    def __repr__(self) -> str:
        return f"sigx.Run({str(self.path)!r})"

    @property
    def metrics(self) -> dict:
        """metrics.json as a dict: ``results[test set][model][component][metric]``."""
        with open(self.path / "metrics.json") as f:
            return json.load(f)

    @property
    def report(self) -> str:
        """report.md, the run's report."""
        return (self.path / "report.md").read_text()

    @property
    def models(self) -> list:
        """The models whose fitted state the run saved (for ``sigx.load``)."""
        return sorted(p.parent.name for p in self.path.glob("*/manifest.json"))

    def records(self, model: str, test_set: str) -> list:
        """The names of the records ``model`` extracted in ``test_set``, sorted."""
        _check_names(model=model, test_set=test_set)
        folder = self.path / "extracted" / model / test_set
        if not folder.is_dir():
            raise Error(f"{folder}: no extracted components (is the model or the set misspelt, or did the "
                        "run turn them off with [output] components = \"none\"?)")
        return sorted(p.name[:-4] for p in folder.glob("*.wav") if not p.name.endswith(".frequency.wav"))

    def predictions(self, model: str, test_set: str, record: Union[int, str] = 0):
        """What ``model`` extracted from a record of ``test_set``: a numpy array, components
        x samples. ``record`` is a name or an index into ``records(model, test_set)``."""
        names = self.records(model, test_set)
        if isinstance(record, int):
            if not -len(names) <= record < len(names):
                raise IndexError(f"record {record}: {test_set} has {len(names)} record(s) for {model}")
            record = names[record]
        elif _check_names(record=record) or record not in names:
            raise Error(f"no record '{record}' in {test_set} for {model} (it has {', '.join(names)})")
        _, samples = _sigx.read_sound(os.fspath(self.path / "extracted" / model / test_set / f"{record}.wav"))
        return samples


def run(pipeline: Optional[PathLike] = None, overrides: Sequence[str] = (), out: PathLike = "runs",
        quiet: bool = False, plugin_paths: Optional[Iterable[PathLike]] = None,
        resume: Optional[PathLike] = None) -> Run:
    """Runs a pipeline file as ``sigx run`` does, into a new directory under ``out``, and
    returns the finished ``Run``. ``quiet`` turns the progress lines off. Ctrl-C asks the
    run to stop at its next checkpoint and raises KeyboardInterrupt; the partial run is
    finished by ``sigx.run(resume=PATH)`` or ``sigx run --resume PATH``. A pipeline with a
    [sweep] is run with the ``sigx`` command (its points are processes)."""
    if (pipeline is None) == (resume is None):
        raise ValueError("give a pipeline file, or resume= an interrupted run's directory")
    if resume is not None and overrides:
        raise ValueError("resume takes no overrides: it reuses the run's config.toml")
    path, _ = _sigx.run(os.fspath(pipeline or ""), list(overrides), os.fspath(out), quiet, _paths(plugin_paths),
                        os.fspath(resume or ""))
    return Run(path)


class Stream:
    """A saved causal model run block by block (``Model.stream``); its output lines up with
    its input: the first ``latency`` outputs come out of ``flush()`` at the end."""

    def __init__(self, handle):
        self._s = handle

    @property
    def latency(self) -> int:
        """Samples the model holds back (0: each output from the input up to it)."""
        return self._s.latency

    def process(self, block):
        """Runs a block (samples, or channels x samples) and returns the outputs that line up
        with the input so far, components x frames (fewer than the block at first by up to
        ``latency``). Blocks may have any length."""
        return self._s.process(block)

    def flush(self):
        """The last ``latency`` outputs, as though silence followed; then ``reset()``."""
        return self._s.flush()

    def reset(self) -> None:
        """Starts over, as a fresh stream."""
        self._s.reset()


class Model:
    """A model a run saved, restored as ``sigx apply`` restores it (``sigx.load``)."""

    def __init__(self, handle):
        self._m = handle

    def __repr__(self) -> str:
        return f"sigx.Model({self.name!r}, plugin={self.plugin!r}, path={str(self.path)!r})"

    name = property(lambda self: self._m.name, doc="The model's name in its run.")
    plugin = property(lambda self: self._m.plugin, doc="The plugin that implements it.")
    path = property(lambda self: Path(self._m.path), doc="Its folder in the run directory.")
    sample_rate = property(lambda self: self._m.sample_rate, doc="Hz: the rate it was fitted at.")
    channels = property(lambda self: self._m.channels, doc="Input channels it reads.")
    components = property(lambda self: self._m.components,
                          doc="What it extracts: dicts of label, frequency, gain, tolerance, fundamental, "
                          "amplitude (0: not known).")
    causal = property(lambda self: self._m.causal, doc="Whether it can stream (each output from the input up to it).")

    def apply(self, x, rate: float):
        """The model's output for ``x`` (samples, or channels x samples, at ``rate`` Hz):
        components x samples, exactly what ``sigx apply`` writes. Another rate or channel
        count than the model's is refused (sigx never resamples silently)."""
        return self._m.apply(x, float(rate))

    def stream(self, rate: float, channels: int = 1, block: int = 4096) -> Stream:
        """A ``Stream`` of this model (its own instance) at ``rate`` Hz; ``block`` is the
        largest block handed to the model at once (longer ones are split). A model that
        cannot stream raises ``sigx.ConfigError`` saying why."""
        return Stream(self._m.stream(float(rate), int(channels), int(block)))


def load(run: PathLike, model: Optional[str] = None, plugin_paths: Optional[Iterable[PathLike]] = None) -> Model:
    """A saved model: ``run`` is a run directory (``model`` names one of its models, needed
    when it saved several) or a model's own folder. Loaded as ``sigx apply`` loads it."""
    return Model(_sigx.SavedModel(os.fspath(run), model or "", _paths(plugin_paths)))
