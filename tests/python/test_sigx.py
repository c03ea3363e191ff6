import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import scipy.io.wavfile

import sigx
from conftest import BUILD, REPO, have, python_run, write


def wav(path, x, rate=1000):
    scipy.io.wavfile.write(path, rate, np.asarray(x, dtype=np.float32))
    return path


def test_module_basics():
    assert sigx.__version__.count(".") == 2
    names = {p["name"]: p for p in sigx.plugins()}
    assert names["lsq"]["kind"] == "model" and names["lsq"]["library"].endswith("sigx_lsq.so")
    assert "run" in sigx.run.__doc__ and "Ctrl-C" in sigx.run.__doc__


def test_validate_raises_the_cli_message(tmp_path):
    ok = write(tmp_path / "ok.toml", '[source]\nplugin = "noisy_sinusoid"\n[models.fft]\nplugin = "fft.block"\n')
    assert "ok: pipeline" in sigx.validate(ok)
    with pytest.raises(sigx.ConfigError, match=r"<command line>|source.phase_scale"):
        sigx.validate(ok, overrides=["source.phase_scale=-1"])
    bad = write(tmp_path / "bad.toml", '[source]\nplugin = "noisy_sinusoid"\n[models.fft]\nplugin = "fft.blok"\n')
    with pytest.raises(sigx.Error, match=r"bad.toml:4:10: no model plugin named 'fft.blok'; known model plugins: fft.block"):
        sigx.validate(bad)


def test_run_metrics_are_the_run_directorys(tones_run):
    on_disk = json.loads((tones_run.path / "metrics.json").read_text())
    assert tones_run.metrics == on_disk
    assert {"lsq_sliding", "kalman", "fft"} <= set(on_disk["results"]["test"])
    assert tones_run.models == ["fft", "kalman", "lsq_sliding"]
    assert "lsq_sliding" in tones_run.report


def test_predictions_are_the_extracted_components(tones_run):
    y = tones_run.predictions("kalman", "test", record=0)
    assert y.shape == (4, 2000) and y.dtype == np.float64
    name = tones_run.records("kalman", "test")[0]
    assert np.array_equal(tones_run.predictions("kalman", "test", record=name), y)
    with pytest.raises(sigx.Error, match="no extracted components"):
        tones_run.predictions("nothing", "test")


@pytest.mark.parametrize("model", ["kalman", "lsq_sliding", "fft"])
def test_apply_equals_sigx_apply(tones_run, mix, tmp_path, model):
    source = wav(tmp_path / "mix.wav", mix)
    subprocess.run([str(BUILD / "sigx"), "apply", str(tones_run.path), "--model", model, str(source), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    rate, x = sigx._sigx.read_sound(str(source))  # exactly the samples `sigx apply` read
    _, written = sigx._sigx.read_sound(str(tmp_path / f"mix.{model}.wav"))
    y = sigx.load(tones_run.path, model).apply(x, rate=rate)
    assert y.shape == written.shape == (4, 2000)
    # The CLI writes 32-bit float: equal to that rounding.
    assert np.array_equal(y.astype(np.float32), written.astype(np.float32))


@pytest.mark.parametrize("block", [1, 7, 331, 2000])
def test_stream_in_blocks_equals_apply(tones_run, mix, block):
    model = sigx.load(tones_run.path, "kalman")
    assert model.causal
    whole = model.apply(mix, rate=1000.0)
    s = model.stream(rate=1000.0, block=64)
    parts = [s.process(mix[i:i + block]) for i in range(0, len(mix), block)] + [s.flush()]
    assert np.array_equal(np.concatenate(parts, axis=1), whole)


def test_a_model_that_cannot_stream_says_why(tones_run):
    with pytest.raises(sigx.ConfigError, match="fft.*cannot stream"):
        sigx.load(tones_run.path, "fft").stream(rate=1000.0)


def test_another_rate_is_refused(tones_run, mix):
    with pytest.raises(sigx.ConfigError, match="sample rate is 2000 Hz; model 'kalman' was fitted at 1000 Hz"):
        sigx.load(tones_run.path, "kalman").apply(mix, rate=2000.0)


@pytest.mark.parametrize("x, error, message", [
    (np.ones(100, dtype=complex), TypeError, "real numbers, not dtype complex128"),
    (np.array(["a", "b"]), TypeError, "real numbers"),
    (np.ones((1, 1, 100)), ValueError, "not a 3-D array"),
    (np.ones(0), ValueError, "empty"),
    (np.r_[np.ones(10), np.nan, np.ones(10)], ValueError, "sample 10 of channel 0 is not a finite number"),
    ("samples", TypeError, "real numbers"),
])
def test_bad_arrays_get_a_clear_error(tones_run, x, error, message):
    with pytest.raises(error, match=message):
        sigx.load(tones_run.path, "kalman").apply(x, rate=1000.0)


def test_non_contiguous_and_other_dtypes_are_converted_once(tones_run, mix):
    model = sigx.load(tones_run.path, "kalman")
    expected = model.apply(mix, rate=1000.0)
    strided = np.repeat(mix, 2)[::2]
    assert not strided.flags.c_contiguous
    assert np.array_equal(model.apply(strided, rate=1000.0), expected)
    assert np.array_equal(model.apply(mix.astype(np.float32), rate=1000.0),
                          model.apply(mix.astype(np.float32).astype(np.float64), rate=1000.0))


def test_two_threads_apply_two_models_as_one_by_one(tones_run, mix):
    models = [sigx.load(tones_run.path, m) for m in ("kalman", "lsq_sliding")]
    alone = [m.apply(mix, rate=1000.0) for m in models]
    together = [None, None]

    def work(i):
        for _ in range(5):
            together[i] = models[i].apply(mix, rate=1000.0)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(a, b) for a, b in zip(alone, together))


def test_two_runs_in_one_process(tmp_path):
    from conftest import TONES
    file = write(tmp_path / "tones.toml", TONES)
    first = sigx.run(file, out=tmp_path / "a", quiet=True)
    second = sigx.run(file, overrides=["source.test_seed=5"], out=tmp_path / "b", quiet=True)
    assert first.path != second.path
    m1, m2 = first.metrics["results"]["test"]["kalman"], second.metrics["results"]["test"]["kalman"]
    assert m1 != m2  # other data, so another score: both runs really ran


NOTCH = """
[pipeline]
name = "py"
[source]
plugin = "noisy_sinusoid"
duration = 2.0
phase_scale = 0.01
unseen_records = 0
[models.notch]
plugin = "python"
script = "{script}"
class = "Notch"
params = ["q = 5.0"]
[output]
predictions = "none"
"""


def test_python_plugin_prediction_equals_the_class_called_directly(tmp_path, mix):
    script = REPO / "examples" / "python" / "notch.py"
    run = sigx.run(write(tmp_path / "py.toml", NOTCH.format(script=script)), out=tmp_path / "runs", quiet=True)
    assert "notch" in run.metrics["results"]["test"]
    import importlib.util
    spec = importlib.util.spec_from_file_location("notch_direct", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    components = sigx.load(run.path, "notch").components
    direct = module.Notch(q=5.0).predict(mix[None, :], 1000.0, components)
    model = sigx.load(run.path, "notch")  # saved by the class's own save(), loaded by load()
    assert np.array_equal(model.apply(mix, rate=1000.0), direct)
    # It streams too, as a causal built-in does.
    s = model.stream(rate=1000.0, block=128)
    streamed = np.concatenate([s.process(mix[i:i + 300]) for i in range(0, 2000, 300)] + [s.flush()], axis=1)
    assert np.allclose(streamed, direct, rtol=0, atol=1e-12)


def test_python_plugin_exception_names_script_and_line(tmp_path):
    script = write(tmp_path / "broken.py", """\
        import numpy as np

        class Broken:
            def predict(self, x, rate, components):
                scale = 2.0
                raise ValueError(f"no luck at scale {scale}")
        """)
    pipeline = write(tmp_path / "p.toml", NOTCH.format(script=script).replace('"Notch"', '"Broken"').replace(
        'params = ["q = 5.0"]', ""))
    with pytest.raises(sigx.Error, match=r"broken.py:6: ValueError: no luck at scale 2.0"):
        sigx.run(pipeline, out=tmp_path / "runs", quiet=True)


def test_python_plugin_refuses_a_wrong_shape_and_nan(tmp_path):
    for body, message in [("return np.zeros((2, x.shape[1]))", r"returned shape \(2, 2000\); expected \(4, 2000\)"),
                          ("return np.zeros((4, x.shape[1]), dtype=int)", "returned dtype int64"),
                          ("y = np.zeros((4, x.shape[1])); y[2, 17] = np.nan; return y", "sample 17")]:
        script = write(tmp_path / "shape.py", f"""\
            import numpy as np

            class Shape:
                def predict(self, x, rate, components):
                    {body}
            """)
        pipeline = write(tmp_path / "p.toml", NOTCH.format(script=script).replace('"Notch"', '"Shape"').replace(
            'params = ["q = 5.0"]', ""))
        with pytest.raises(sigx.Error, match=message):
            sigx.run(pipeline, out=tmp_path / "runs", quiet=True)


def test_a_missing_module_is_one_line_at_validation(tmp_path):
    script = write(tmp_path / "needs.py", "import sigx_no_such_module\n\nclass Needs:\n    pass\n")
    pipeline = write(tmp_path / "p.toml", NOTCH.format(script=script).replace('"Notch"', '"Needs"'))
    with pytest.raises(sigx.Error, match=r"p.toml:11:10: \[models.notch\] plugin .python.: .*needs.py:1: ModuleNotFoundError: No module named "
                                         r"'sigx_no_such_module'"):
        sigx.validate(pipeline)


def test_the_sigx_command_runs_python_plugins_too(tmp_path):
    script = REPO / "examples" / "python" / "notch.py"
    pipeline = write(tmp_path / "py.toml", NOTCH.format(script=script))
    r = subprocess.run([str(BUILD / "sigx"), "run", "-q", str(pipeline), "--out", str(tmp_path / "runs")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "notch" in r.stdout


SLOW = """
import time
import numpy as np

class Slow:
    def fit(self, records):
        time.sleep(3)

    def predict(self, x, rate, components):
        return np.zeros((len(components), x.shape[1]))
"""


def test_ctrl_c_raises_keyboard_interrupt_and_resume_finishes(tmp_path):
    script = write(tmp_path / "slow.py", SLOW)
    pipeline = write(tmp_path / "p.toml", NOTCH.format(script=script).replace('"Notch"', '"Slow"').replace(
        'params = ["q = 5.0"]', "") + '[models.kalman]\nplugin = "kalman"\n')
    code = f"""
        import sigx
        try:
            sigx.run({str(pipeline)!r}, out={str(tmp_path / 'runs')!r}, quiet=True)
        except KeyboardInterrupt as e:
            print("KeyboardInterrupt:", e)
        """
    # A fresh interpreter, so that SIGINT goes to it alone.
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                         env=dict(os.environ, PYTHONPATH=str(BUILD / "python")),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert "KeyboardInterrupt: interrupted; resume with: sigx run --resume" in out, out + err
    partial = out.split("--resume ")[1].strip()
    resumed = sigx.run(resume=partial, quiet=True)
    whole = sigx.run(pipeline, out=tmp_path / "whole", quiet=True)
    assert resumed.metrics["results"] == whole.metrics["results"]


@pytest.mark.skipif(not have("lstm.stateful"), reason="built without LibTorch")
def test_a_trained_lstm_applies_as_sigx_apply_and_the_interpreter_exits_cleanly(tmp_path, mix):
    pipeline = write(tmp_path / "lstm.toml", """\
        [source]
        plugin = "noisy_sinusoid"
        duration = 2.0
        phase_scale = 0.01
        unseen_records = 0
        [models.lstm]
        plugin = "lstm.stateful"
        trainer = "torch"
        hidden = 8
        [trainers.torch]
        plugin = "torch"
        epochs = 2
        [output]
        predictions = "none"
        """)
    run = sigx.run(pipeline, out=tmp_path / "runs", quiet=True)
    source = wav(tmp_path / "mix.wav", mix)
    subprocess.run([str(BUILD / "sigx"), "apply", str(run.path), "--model", "lstm", str(source), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    rate, x = sigx._sigx.read_sound(str(source))
    _, written = sigx._sigx.read_sound(str(tmp_path / "mix.lstm.wav"))
    y = sigx.load(run.path, "lstm").apply(x, rate=rate)
    assert np.array_equal(y.astype(np.float32), written.astype(np.float32))
    r = python_run(f"""
        import numpy as np, sigx
        m = sigx.load({str(run.path)!r}, "lstm")
        print(m.apply(np.zeros(500), rate=1000.0).shape)
        """)
    assert r.returncode == 0 and r.stdout.strip() == "(4, 500)", r.stderr


def test_the_shipped_python_examples_are_rows_of_a_sigx_report(tmp_path):
    assert "4 model(s)" in sigx.validate(REPO / "examples" / "python" / "four_tones.toml")
    # MNE's spectrum_fit beside sigx's multitaper on two seconds of steady 50 Hz hum.
    t = np.arange(16000) / 8000.0
    rng = np.random.default_rng(3)
    hum = 0.3 * np.sin(2 * np.pi * 50 * t + 1.0)
    for name in ("train", "test"):
        (tmp_path / "truth").mkdir(exist_ok=True)
        noise = 0.3 * rng.standard_normal(t.size)
        wav(tmp_path / f"{name}.wav", hum + noise, rate=8000)
        wav(tmp_path / "truth" / f"{name}.wav", hum, rate=8000)
    pipeline = write(tmp_path / "mne.toml", f"""\
        [source]
        plugin = "recording"
        train = ["train.wav"]
        test = ["test.wav"]
        frequencies = [50]
        labels = ["hum50"]
        train_truth = "{{dir}}/truth/{{stem}}.wav"
        test_truth = "{{dir}}/truth/{{stem}}.wav"
        [models.mne_spectrum_fit]
        plugin = "python"
        script = "{REPO / 'examples' / 'python' / 'spectrum_fit.py'}"
        class = "SpectrumFit"
        params = ["window = 1.0"]
        [models.multitaper]
        plugin = "multitaper"
        """)
    run = sigx.run(pipeline, out=tmp_path / "runs", quiet=True)
    mse = {m: run.metrics["results"]["test"][m]["mean"]["mse"] for m in ("mne_spectrum_fit", "multitaper")}
    zero = np.mean(hum ** 2)
    # A 1-s multitaper fit of a steady tone in noise of variance 0.09 leaves an error of
    # about 0.09 * (2 / 8000 per sample) * a few bins: far below predicting zero (0.045).
    assert mse["mne_spectrum_fit"] < 0.05 * zero and mse["multitaper"] < 0.05 * zero
    assert "| mne_spectrum_fit" in run.report


def test_a_pytorch_model_trained_in_python_is_saved_applied_and_streamed(tmp_path, mix):
    pytest.importorskip("torch")
    pipeline = write(tmp_path / "fir.toml", NOTCH.format(script=REPO / "examples" / "python" / "torch_fir.py").replace(
        '"Notch"', '"TorchFIR"').replace('params = ["q = 5.0"]', 'params = ["taps = 512", "steps = 100"]'))
    run = sigx.run(pipeline, out=tmp_path / "runs", quiet=True)
    scores = run.metrics["results"]["test"]["notch"]["mean"]
    assert scores["mse"] < 0.05 * 0.5  # predicting zero scores 0.5: it learned the tones
    model = sigx.load(run.path, "notch")  # torch.save'd weights, loaded into a fresh instance
    assert np.array_equal(model.apply(mix, rate=1000.0), model.apply(mix, rate=1000.0))
    whole = model.apply(mix, rate=1000.0)
    s = model.stream(rate=1000.0)
    streamed = np.concatenate([s.process(mix[i:i + 256]) for i in range(0, 2000, 256)] + [s.flush()], axis=1)
    assert np.allclose(streamed, whole, rtol=0, atol=1e-5)  # float32 convolutions of other lengths


def test_names_that_would_leave_the_run_directory_are_refused(tones_run):
    with pytest.raises(sigx.Error, match="model name"):
        tones_run.records("../../etc", "test")
    with pytest.raises(sigx.Error, match="record name"):
        tones_run.predictions("kalman", "test", record="../kalman/test/x")
