"""The Python API against the CLI's JSON, the docs/theory.md §8 test vectors, bad input, and estimation."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import unmask

ROOT = Path(__file__).resolve().parents[2]
LN5 = math.log(5.0)


def cli(*args):
    """Runs the unmask binary (UNMASK_BIN, else target/debug/unmask) and parses its JSON."""
    binary = os.environ.get("UNMASK_BIN", str(ROOT / "target" / "debug" / "unmask"))
    if not Path(binary).exists():
        pytest.fail(f"the unmask binary is missing at {binary}: run `cargo build` or set UNMASK_BIN")
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# --- docs/theory.md §8 test vectors ----------------------------------------------------------

def test_reed_solomon_vectors_in_bits():
    curve = unmask.Curve([0, 0, LN5, LN5]).to_unit("bits")
    assert unmask.expected_kl(curve, [2, 2]) == 0
    assert unmask.expected_kl(curve, [1, 3]) == pytest.approx(4.644, abs=5e-4)
    assert unmask.expected_kl(curve, [3, 1]) == pytest.approx(2.322, abs=5e-4)
    assert unmask.expected_kl(curve, [4]) == pytest.approx(4.644, abs=5e-4)
    assert unmask.expected_kl(curve, [1, 1, 1, 1]) == 0


def test_parity_repeat_and_tc_schedule_vectors():
    parity = unmask.Curve.from_dist("parity:n=32", unit="bits")
    assert parity.tc == pytest.approx(1.0) and parity.dtc == pytest.approx(31.0)
    repeat = unmask.Curve.from_dist("repeat:n=24,q=7")
    for s in (1, 2, 3, 4, 6, 8, 12, 24):
        assert unmask.expected_kl(repeat, f"constant:size={s}") == pytest.approx((s - 1) * math.log(7))
    tc = unmask.schedule("tc:epsilon=1,tc=1", 256)
    assert tc.tolist() == [128, 64, 32, 16, 8, 4, 2, 1, 1]
    tc = unmask.schedule("tc:epsilon=1,tc=10", 1024)
    assert len(tc) == 64 and tc[:6].tolist() == [93, 84, 77, 70, 63, 57]
    product = unmask.Curve(np.zeros(10))
    assert unmask.expected_kl(product, [10]) == 0


# --- Same numbers as the CLI -----------------------------------------------------------------

@pytest.mark.parametrize("dist", ["mds:n=64,k=20,q=67", "logfactor:n=300,eps=0.1", "markov:n=40,q=3,stay=0.85"])
def test_same_numbers_as_cli(dist):
    curve = unmask.Curve.from_dist(dist)
    for spec in ["uniform:steps=8", "dream:steps=8", "cosine:steps=8", "pow:steps=8,p=2", "tc:steps=8", "sqrt:steps=8"]:
        doc = cli("eval", "--dist", dist, "--schedule", spec)
        assert unmask.schedule(spec, curve.n, curve=curve).tolist() == doc["schedule"]
        assert unmask.expected_kl(curve, spec) == doc["expected_kl"]
    plan = unmask.optimal_schedule(curve, steps=8)
    doc = cli("plan", "--dist", dist, "--steps", "8")
    assert plan["schedule"].tolist() == doc["schedule"] and plan["expected_kl"] == doc["expected_kl"]
    assert (plan["n"], plan["unit"], plan["steps"]) == (doc["n"], doc["unit"], doc["steps"])
    plan = unmask.optimal_schedule(curve, epsilon=0.05)
    doc = cli("plan", "--dist", dist, "--epsilon", "0.05")
    assert plan["schedule"].tolist() == doc["schedule"]
    front = unmask.frontier(curve, steps=[1, 2, 4, 16])
    doc = cli("frontier", "--dist", dist, "--steps", "1,2,4,16")
    assert front["points"] == doc["points"]
    assert [p["name"] for p in front["presets"]] == [p["name"] for p in doc["presets"]]
    assert [p["points"] for p in front["presets"]] == [p["points"] for p in doc["presets"]]
    cmp = unmask.compare(curve, 6)
    doc = cli("compare", "--dist", dist, "--steps", "6")
    assert cmp["optimal_kl"] == doc["optimal_kl"]
    for mine, theirs in zip(cmp["rows"], doc["rows"]):
        assert mine["name"] == theirs["name"]
        assert mine["schedule"].tolist() == theirs["schedule"]
        for key in ("steps", "expected_kl", "ratio_to_optimal", "steps_to_match_optimal"):
            assert mine[key] == theirs[key], key
    assert cmp["speedup"] == doc["speedup"]
    # Chosen presets, the speed-up headline and step ranges agree with the CLI too.
    cmp = unmask.compare(curve, 6, presets=["LLaDA", "cosine"])
    doc = cli("compare", "--dist", dist, "--steps", "6", "--presets", "llada,cosine")
    assert [r["name"] for r in cmp["rows"]] == [r["name"] for r in doc["rows"]]
    assert [r["name"] for r in doc["rows"]] == ["uniform", "cosine", "optimal"]
    front = unmask.frontier(curve, steps=[1, 4, 7, 8], presets=["sqrt"], budget=8)
    doc = cli("frontier", "--dist", dist, "--steps", "1..8:3", "--presets", "sqrt", "--budget", "8")
    assert front["points"] == doc["points"] and front["presets"] == doc["presets"]
    assert front["speedup"] == doc["speedup"] and front["speedup"]["steps"] == 8
    with pytest.raises(ValueError, match="did you mean"):
        unmask.compare(curve, 6, presets=["cosin"])


def test_json_round_trip_and_cli_files():
    curve = unmask.Curve.from_dist("markov:n=30,q=3,stay=0.8", unit="bits")
    back = unmask.Curve.from_json(curve.to_json())
    # Bits go through nats and back: equal to an ulp.
    assert back.unit == "bits" and np.allclose(back.z, curve.z, rtol=1e-15, atol=0)
    data = ROOT / "crates" / "unmask-cli" / "tests" / "data"
    for name in ("curve.json", "entropy.json", "sparse.json"):
        mine = unmask.Curve.from_json((data / name).read_text())
        theirs = cli("curve", "--curve", str(data / name), "--unit", mine.unit)
        assert np.allclose(mine.z, theirs["z"], rtol=1e-15, atol=0), name
    for name, message in (("decreasing.json", "Z_3 = 0.1"), ("malformed.json", "malformed JSON"),
                          ("first_nonzero.json", "Z_1 = 0.5"), ("sparse_out_of_range.json", "j = 6")):
        with pytest.raises(ValueError, match=message):
            unmask.Curve.from_json((data / name).read_text())
    with pytest.raises(ValueError, match="missing field"):
        unmask.Curve.from_json('{"z": [0, 1]}')


def test_bits_and_curve_files_round_trip(tmp_path):
    curve = unmask.Curve.from_dist("logfactor:n=50,eps=0.2", unit="bits")
    path = tmp_path / "curve.json"
    path.write_text(curve.to_json())
    doc = cli("curve", "--curve", str(path), "--unit", "bits")
    assert np.allclose(doc["z"], curve.z, rtol=1e-15, atol=0)
    # Bits cross the file as text and back through nats: equal to a few ulps.
    assert unmask.optimal_schedule(curve, steps=5)["expected_kl"] == pytest.approx(cli(
        "plan", "--curve", str(path), "--unit", "bits", "--steps", "5")["expected_kl"], rel=1e-13)


def test_curve_files_byte_identical_both_ways(tmp_path):
    """Python writes what the CLI writes, and each reads the other's file back exactly."""
    data = ROOT / "crates" / "unmask-cli" / "tests" / "data"
    for spec, unit in (("markov:n=30,q=3,stay=0.8", "nats"), ("logfactor:n=50,eps=0.2", "bits"),
                       ("parity:n=9", "bits")):
        ours = unmask.Curve.from_dist(spec, unit=unit)
        cli_file = tmp_path / "cli.json"
        subprocess.run([os.environ.get("UNMASK_BIN", str(ROOT / "target" / "debug" / "unmask")),
                        "curve", "--dist", spec, "--unit", unit, "--out", str(cli_file)],
                       check=True, capture_output=True)
        # Python → file → CLI: the same bytes as the CLI's own file.
        assert ours.to_json() == cli_file.read_text(), spec
        # CLI file → Python → to_json: the same bytes again.
        assert unmask.Curve.from_json(cli_file.read_text()).to_json() == cli_file.read_text()
        py_file = tmp_path / "py.json"
        py_file.write_text(ours.to_json())
        assert cli("curve", "--curve", str(py_file), "--unit", unit)["z"] == ours.z.tolist()


def test_bad_curve_files_give_the_same_message_in_python_and_the_cli():
    data = ROOT / "crates" / "unmask-cli" / "tests" / "data"
    binary = os.environ.get("UNMASK_BIN", str(ROOT / "target" / "debug" / "unmask"))
    cases = [data / n for n in ("decreasing.json", "malformed.json", "first_nonzero.json",
                                "sparse_out_of_range.json", "negative.json")]
    texts = ['{"z": [0, 1]}', '{"unit": "furlongs", "z": [0]}', '{"unit": "nats"}',
             '{"unit": "nats", "z": [0], "entropy": [1]}', '{"unit": "nats", "z": [0, "a"]}',
             '{"unit": "nats", "points": [[2, 0.1]]}', '{"unit": "nats", "n": 3, "points": [[2]]}',
             '{"unit": "nats", "z": [0, 0, 1e308, 1e308]}', '[1, 2]',
             '{"unit": "nats", "n": 250000000, "points": [[1, 0]]}']
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(texts):
            path = Path(tmp) / f"bad{i}.json"
            path.write_text(text)
            cases.append(path)
        for path in cases:
            with pytest.raises(ValueError) as python:
                unmask.Curve.from_json(path.read_text())
            out = subprocess.run([binary, "curve", "--curve", str(path)], capture_output=True,
                                 text=True)
            assert out.returncode == 2
            # The CLI prefixes the file and appends the budget flags; the message is Python's.
            cli_message = out.stderr.strip().removeprefix(f"unmask: error: reading curve from {path}: ")
            cli_message = cli_message.removesuffix(" (raise --max-memory or --max-work to allow it)")
            assert cli_message == str(python.value), path.name


# --- Constructors ----------------------------------------------------------------------------

def test_constructors():
    c = unmask.Curve.from_entropy([2.0, 1.5, 1.0])
    assert c.z.tolist() == [0.0, 0.5, 1.0]
    c = unmask.Curve.from_points(5, [(3, 1.0), (5, 2.0)])
    assert c.z.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    r = unmask.Curve.repair([0.0, 0.3, 0.1, 0.5])
    assert r.z.tolist() == pytest.approx([0.0, 0.2, 0.2, 0.5])
    assert r.correction[0] == pytest.approx(0.1) and r.correction[1] in (2, 3)
    m = unmask.Curve.from_masked_losses(100, [0, 25, 50, 99], [2.0, 1.5, 1.55, 1.2])
    assert m.correction[0] == pytest.approx(0.025)
    assert m.z[-1] == pytest.approx(0.8)
    assert len(m) == 100 and m.unit == "nats"
    counts = unmask.transfer_counts(unmask.optimal_schedule(m, steps=8)["schedule"], batch_size=3)
    assert counts.shape == (3, 8) and counts.dtype == np.int64 and (counts.sum(axis=1) == 100).all()


# --- Bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: unmask.Curve([0.0, float("nan")]), "Z_2 = NaN is not finite"),
        (lambda: unmask.Curve([0.0, -1.0]), "Z_2 = -1 is negative"),
        (lambda: unmask.Curve([0.5, 1.0]), "Z_1 = 0.5"),
        (lambda: unmask.Curve([0.0, 0.5, 0.2]), "non-decreasing"),
        (lambda: unmask.Curve([]), "empty"),
        (lambda: unmask.Curve([[0.0, 1.0]]), "1-D array"),
        (lambda: unmask.Curve(["a", "b"]), "1-D array"),
        (lambda: unmask.Curve.from_entropy(np.zeros((2, 2))), "1-D array"),
        (lambda: unmask.transfer_counts([[1, 2]], 1), "1-D array"),
        (lambda: unmask.Curve([0.0, 1.0], unit="furlongs"), "unknown unit"),
        (lambda: unmask.optimal_schedule(unmask.Curve([0, 1.0]), steps=3), "steps = 3 is out of range"),
        (lambda: unmask.optimal_schedule(unmask.Curve([0, 1.0]), steps=0), "out of range"),
        (lambda: unmask.optimal_schedule(unmask.Curve([0, 1.0])), "exactly one"),
        (lambda: unmask.optimal_schedule(unmask.Curve([0, 1.0]), epsilon=-1.0), "epsilon"),
        (lambda: unmask.expected_kl(unmask.Curve([0, 1.0]), "linear:steps=2"), "unknown name"),
        (lambda: unmask.expected_kl(unmask.Curve([0, 1.0]), "uniform:stpes=2"), "unknown key"),
        (lambda: unmask.expected_kl(unmask.Curve([0, 1.0]), [1, 2]), "sum to 3"),
        (lambda: unmask.schedule("uniform:steps=9", 4), "steps = 9"),
        (lambda: unmask.schedule("pyramid:factor=1", 0), "n = 0"),
        (lambda: unmask.schedule("tc:epsilon=1,tc=0", 0), "n = 0"),
        (lambda: unmask.frontier(unmask.Curve([0, 1.0]), steps=[0]), "out of range"),
        (lambda: unmask.compare(unmask.Curve([0, 1.0]), 0), "out of range"),
        (lambda: unmask.transfer_counts([2, -1], 2), "negative"),
        (lambda: unmask.transfer_counts([2, 2], 0), "batch_size"),
        (lambda: unmask.Curve.from_masked_losses(10, [1, 5], [1.0, 0.5]), "include t = 0"),
        (lambda: unmask.Curve.from_masked_losses(10, [0, 5], [1.0]), "measurement points"),
        (lambda: unmask.Curve.from_masked_losses(10, mask_ratios=[1.5], losses=[1.0]), "mask ratio 1.5"),
        (lambda: unmask.Curve.from_dist("gauss:n=4"), "unknown name"),
        (lambda: unmask.estimate_curve(lambda t, m: np.ones((1, 2, 2)), np.zeros((4, 3), dtype=int)), "predict returned shape"),
        (lambda: unmask.estimate_curve(lambda t, m: None, np.zeros(3, dtype=int)), "2-D"),
    ],
)
def test_bad_input_raises_value_error(make, message):
    with pytest.raises(ValueError, match=message if message else None):
        make()


# --- Estimation ------------------------------------------------------------------------------

def test_estimate_curve_recovers_a_repeated_token():
    """An exact model of one uniform symbol copied n times: Z = (0, ln q, ..., ln q)."""
    q, n = 5, 12
    rng = np.random.default_rng(3)
    data = np.repeat(rng.integers(q, size=(400, 1)), n, axis=1)

    def predict(tokens, mask):
        probs = np.full(tokens.shape + (q,), 1.0 / q)
        for b in range(tokens.shape[0]):
            seen = tokens[b][~mask[b]]
            if seen.size:
                probs[b] = 0.0
                probs[b, :, seen[0]] = 1.0
        return probs

    for loss in ("entropy", "cross_entropy"):
        curve = unmask.estimate_curve(predict, data, points=[1, 4, 8], loss=loss)
        exact = unmask.Curve.from_dist(f"repeat:n={n},q={q}")
        for j, se in curve.stderr:
            assert abs(curve.z[j - 1] - exact.z[j - 1]) <= 4 * se + 1e-12


def test_synthetic_markov_example_runs_and_recovers_its_curve():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "synthetic_markov.py")],
                         capture_output=True, text=True, check=True).stdout
    worst = float(out.split("largest |estimate - exact| at the grid points: ")[1].split()[0])
    assert worst <= 4.0, out
    assert "vs uniform" in out


# --- Resource policy: refusals are ValueErrors, never a crash of the interpreter -------------

@pytest.mark.parametrize("call", [
    lambda: unmask.Curve.from_dist("markov:n=2,q=2305843009213693952,stay=0.5"),
    lambda: unmask.Curve.from_dist("markov:n=100000,q=2,stay=0.5"),
    lambda: unmask.Curve.from_points(250_000_000, [(250_000_000, 1.0)]),
    lambda: unmask.Curve.from_json('{"unit": "nats", "n": 250000000, "points": [[1, 0]]}'),
    lambda: unmask.Curve([0, 0, 1e308, 1e308, 1e308]),
    lambda: unmask.schedule("uniform:steps=2", 10**12),
    lambda: unmask.transfer_counts([1, 2], 10**12),
    lambda: unmask.expected_kl(unmask.Curve([0, 1, 1]), [2**64 - 1, 4]),
])
def test_oversized_inputs_raise_value_error(call):
    with pytest.raises((ValueError, OverflowError)):
        call()


def test_from_dist_follows_the_cli_policy():
    """Closed form, exact, structural and Monte Carlo curves: one policy in the core, so Python
    and the CLI give the same numbers for every kind of family."""
    for spec in ("hmm:n=12,states=2,q=3", "code:n=24,k=3,q=2", "markov:n=10,q=3,stay=0.7",
                 "mixture:n=8,q=3,components=2", "parity:n=7"):
        assert unmask.Curve.from_dist(spec).z.tolist() == cli("curve", "--dist", spec)["z"], spec


def test_masked_losses_cli_and_python_agree(tmp_path):
    """A model's masked losses → plan in one command, CLI and Python agreeing exactly."""
    revealed, losses = [0, 64, 128, 192, 255], [2.10, 1.62, 1.41, 1.30, 1.26]
    ours = unmask.Curve.from_masked_losses(256, revealed=revealed, losses=losses)
    f = tmp_path / "losses.json"
    f.write_text(json.dumps({"unit": "nats", "n": 256,
                             "losses": [[t, l] for t, l in zip(revealed, losses)]}))
    assert cli("curve", "--curve", str(f))["z"] == ours.z.tolist()
    plan = unmask.optimal_schedule(ours, steps=32)
    theirs = cli("plan", "--curve", str(f), "--steps", "32")
    assert plan["schedule"].tolist() == theirs["schedule"]
    assert plan["expected_kl"] == theirs["expected_kl"]
    by_ratio = unmask.Curve.from_masked_losses(256, mask_ratios=[1, 0.75, 0.5, 0.25],
                                               losses=[2.10, 1.62, 1.41, 1.30])
    assert by_ratio.z[192] == pytest.approx(0.80, abs=1e-12)


def test_loss_csv_plan_equals_python_exactly(tmp_path):
    """A model's masked losses as a CSV (`t,loss`, `# n = 256`) → the CLI's plan, and the same
    numbers through Curve.from_masked_losses → optimal_schedule: identical."""
    path = tmp_path / "losses.csv"
    path.write_text("# unit = nats\n# n = 256\nt,loss\n0,2.10\n64,1.62\n128,1.41\n192,1.30\n255,1.26\n")
    binary = os.environ.get("UNMASK_BIN", str(ROOT / "target" / "debug" / "unmask"))
    out = subprocess.run([binary, "plan", "--curve", str(path), "--steps", "32", "--json"],
                         capture_output=True, text=True, check=True)
    cli_plan = json.loads(out.stdout)
    curve = unmask.Curve.from_masked_losses(256, [0, 64, 128, 192, 255], [2.10, 1.62, 1.41, 1.30, 1.26])
    py_plan = unmask.optimal_schedule(curve, steps=32)
    assert cli_plan["expected_kl"] == py_plan["expected_kl"]
    assert cli_plan["schedule"] == py_plan["schedule"].tolist()


def test_repair_is_reported_like_the_cli():
    """A repaired curve's plan, frontier and compare carry the CLI's `repair` field (the CLI's
    plan/compare/frontier --repair --json), and an unrepaired one none; both reject by default."""
    noisy = ROOT / "crates" / "unmask-cli" / "tests" / "data" / "noisy.json"
    z = json.loads(noisy.read_text())["z"]
    with pytest.raises(ValueError):
        unmask.Curve(z)
    curve = unmask.Curve.repair(z)
    for mine, args in [
        (unmask.optimal_schedule(curve, steps=3), ["plan", "--steps", "3"]),
        (unmask.compare(curve, 3), ["compare", "--steps", "3"]),
        (unmask.frontier(curve, budget=3), ["frontier", "--budget", "3"]),
    ]:
        theirs = cli(*args, "--curve", str(noisy), "--repair")
        assert mine["repair"] == theirs["repair"], args
    assert "repair" not in unmask.optimal_schedule(unmask.Curve([0, 0.5, 1.0]), steps=2)


def test_unmeasured_tails_are_reported_like_the_cli(tmp_path):
    """A curve measured short of n: plan, compare and frontier carry the CLI's
    `unmeasured_tail` (held flat past the last point, and the error if Z kept its last slope)."""
    points = [(8, 0.5), (16, 0.9), (32, 1.3)]
    f = tmp_path / "points.json"
    f.write_text(json.dumps({"unit": "nats", "n": 64, "points": [list(p) for p in points]}))
    for curve in (unmask.Curve.from_points(64, points), unmask.Curve.from_json(f.read_text())):
        assert curve.measured == [8, 16, 32]
        for mine, args in [
            (unmask.optimal_schedule(curve, steps=4), ["plan", "--steps", "4"]),
            (unmask.compare(curve, 4), ["compare", "--steps", "4"]),
            (unmask.frontier(curve, budget=4), ["frontier", "--budget", "4"]),
        ]:
            theirs = cli(*args, "--curve", str(f))
            assert mine["unmeasured_tail"] == theirs["unmeasured_tail"], args
    tail = unmask.optimal_schedule(unmask.Curve.from_points(64, points), steps=4)["unmeasured_tail"]
    assert tail["measured_through"] == 32 and tail["expected_kl_linear"] > tail["expected_kl_flat"]
    full = unmask.Curve.from_points(64, points + [(64, 1.6)])
    assert "unmeasured_tail" not in unmask.optimal_schedule(full, steps=4)
    # A correction follows the curve's unit.
    noisy = unmask.Curve.repair([0.0, 0.3, 0.2, 0.5])
    assert noisy.to_unit("bits").correction[0] == pytest.approx(noisy.correction[0] / math.log(2))
