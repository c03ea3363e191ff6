"""What runs code: sigx names every library and script before running them, and a run
directory never makes it run a script it carries."""
import json
import subprocess

import sigx
from conftest import BUILD, REPO, write
from test_sigx import NOTCH

NOTCH_SCRIPT = REPO / "examples" / "python" / "notch.py"


def cli(*args):
    return subprocess.run([str(BUILD / "sigx"), *map(str, args)], capture_output=True, text=True)


def test_validate_and_the_run_log_name_every_library_and_script(tmp_path):
    pipeline = write(tmp_path / "p.toml", NOTCH.format(script=NOTCH_SCRIPT) + '[models.kalman]\nplugin = "kalman"\n')
    r = cli("validate", pipeline)
    assert r.returncode == 0, r.stderr
    library = BUILD / "plugins" / "sigx_python.so"
    assert f"  loads {library}: [models.notch] (plugin 'python')" in r.stdout
    assert f"  loads {BUILD / 'plugins' / 'sigx_kalman.so'}: [models.kalman] (plugin 'kalman')" in r.stdout
    assert f"  runs {NOTCH_SCRIPT}: [models.notch] (plugin 'python')" in r.stdout
    assert f"runs {NOTCH_SCRIPT}" in sigx.validate(pipeline)
    run = sigx.run(pipeline, out=tmp_path / "runs", quiet=True)
    log = (run.path / "log.txt").read_text().splitlines()
    first = [i for i, line in enumerate(log) if f"runs {NOTCH_SCRIPT}" in line]
    fitted = [i for i, line in enumerate(log) if "fitted in" in line]
    assert first and fitted and first[0] < fitted[0]  # named before any plugin did any work


def test_apply_names_the_code_and_refuses_a_script_the_run_carries(tmp_path):
    run = sigx.run(write(tmp_path / "p.toml", NOTCH.format(script=NOTCH_SCRIPT)), out=tmp_path / "runs", quiet=True)
    wav = tmp_path / "x.wav"
    import numpy as np
    import scipy.io.wavfile
    scipy.io.wavfile.write(wav, 1000, np.zeros(500, dtype=np.float32))
    r = cli("apply", run.path, "--model", "notch", wav, "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert f"loads {BUILD / 'plugins' / 'sigx_python.so'}: model 'notch' (plugin 'python')" in r.stderr
    assert f"runs {NOTCH_SCRIPT}: model 'notch'" in r.stderr
    # Someone plants a script in the run and points the manifest at it.
    marker = tmp_path / "planted-ran"
    planted = write(run.path / "notch" / "planted.py", f"open({str(marker)!r}, 'w').write('ran')\n"
                                                         "class Notch:\n    pass\n")
    manifest = run.path / "notch" / "manifest.json"
    m = json.loads(manifest.read_text())
    m["params"]["script"] = json.dumps(str(planted))
    manifest.write_text(json.dumps(m))
    r = cli("apply", run.path, "--model", "notch", wav, "--out", tmp_path / "out2")
    assert r.returncode == 3
    assert f"refusing parameter 'script' = {planted}: it lies inside the run directory" in r.stderr
    assert not marker.exists() and not (tmp_path / "out2").exists()


def planted_library(folder, marker):
    """A shared library whose constructor writes `marker` when it is loaded."""
    source = write(folder / "planted.c", f"""\
        #include <stdio.h>
        __attribute__((constructor)) static void planted(void) {{
            FILE* f = fopen("{marker}", "w");
            if (f) {{ fputs("loaded", f); fclose(f); }}
        }}
        """)
    library = folder / "sigx_planted.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library


def test_a_recorded_library_inside_the_run_or_writable_by_others_is_never_loaded(tmp_path, tones_run):
    import os
    import shutil
    import numpy as np
    import scipy.io.wavfile
    run = tmp_path / "run"
    shutil.copytree(tones_run.path, run)
    wav = tmp_path / "x.wav"
    scipy.io.wavfile.write(wav, 1000, np.zeros(500, dtype=np.float32))
    marker = tmp_path / "planted-loaded"
    manifest = run / "kalman" / "manifest.json"
    m = json.loads(manifest.read_text())
    m["plugin"] = "planted.model"  # found nowhere else, so the recorded library would be loaded

    # Planted inside the run directory: refused, named, never loaded.
    m["library"] = str(planted_library(run / "kalman", marker))
    manifest.write_text(json.dumps(m))
    r = cli("apply", run, "--model", "kalman", wav, "--out", tmp_path / "out")
    assert r.returncode == 3
    assert f"refusing to load {m['library']}: it lies inside the run directory" in r.stderr
    assert "--plugin-path DIR" in r.stderr and not marker.exists()

    # Outside it, in a folder anyone may write to: refused with the way to allow it.
    shared = tmp_path / "shared"
    shared.mkdir()
    m["library"] = str(planted_library(shared, marker))
    os.chmod(shared, 0o777)
    manifest.write_text(json.dumps(m))
    r = cli("stream", run, "--model", "kalman", wav, "-o", tmp_path / "s.wav")
    assert r.returncode == 3
    assert f"refusing to load {m['library']}: {shared} is writable by anyone" in r.stderr
    assert "name its folder yourself: --plugin-path DIR" in r.stderr and not marker.exists()
