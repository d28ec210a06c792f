"""labkit against PyTorch's OpInfo database: the committed table is a ratchet.

Every op that ``tests/conformance_status.json`` lists as passing (forward and gradients, and
second derivatives where the table says they pass) must still pass; a regression fails here.
``LABKIT_CONFORMANCE=full`` also runs every other tried op and fails when one now passes that the
table does not list (update it with ``scripts/conformance.py --write``), so the table stays true.
The machinery is in tests/opinfo_conformance.py (and its _ops / _check modules); ops run in two
worker processes, so a crash or hang in one op fails that op's test only.
"""
import json
import os
import pathlib

import pytest

import opinfo_conformance as oc

STATUS = json.loads((pathlib.Path(__file__).parent / "conformance_status.json").read_text())
TABLE = STATUS["ops"]
FULL = os.environ.get("LABKIT_CONFORMANCE", "") == "full"
PASSING = sorted(k for k, r in TABLE.items() if r["status"] == "pass")
SELECTED = sorted(TABLE) if FULL else PASSING


@pytest.fixture(scope="module")
def results():
    return oc.run_ops([oc.KEYS_REQUEST] + SELECTED, workers=2, timeout=120)


def test_table_lists_every_tried_op(results):
    # The table covers exactly the OpInfos outside the documented exclusions (a torch upgrade that
    # adds or renames OpInfos shows up here).
    keys = set(results[oc.KEYS_REQUEST]["keys"])
    assert keys == set(TABLE), (f"not in the table: {sorted(keys - set(TABLE))}; no longer in "
                                f"op_db: {sorted(set(TABLE) - keys)}")


def test_table_is_consistent():
    s = oc.summary({k: dict(r) for k, r in TABLE.items()})
    assert s == STATUS["summary"]
    assert all(r["status"] in oc.RESULT_STATUSES for r in TABLE.values())
    for kind, (why, names) in oc.EXCLUDED.items():
        assert why and not (names & set(TABLE)), kind


@pytest.mark.parametrize("key", SELECTED)
def test_op_conforms(results, key):
    got, want = results[key], TABLE[key]
    if want["status"] == "pass":
        assert got["status"] == "pass", f"{key} regressed: {got['status']}: {got['error']}"
        if want["gradgrad"] == "pass":
            assert got["gradgrad"] == "pass", (f"{key}: second derivatives regressed: "
                                               f"{got.get('gradgrad_error')}")
    if FULL:
        assert (got["status"], got["gradgrad"]) == (want["status"], want["gradgrad"]), (
            f"{key}: now {got['status']} (gradgrad {got['gradgrad']}), the table says "
            f"{want['status']} (gradgrad {want['gradgrad']}): {got['error']} -- if this is "
            f"progress, record it with scripts/conformance.py --write")


def test_signatures_match_torch():
    # Every public labkit function, Tensor method, nn module / optimizer / lr_scheduler
    # constructor accepts what PyTorch's accepts (names, order, positional-vs-keyword, defaults,
    # keyword aliases, out=): no known-gap list.  The callables labkit lacks are listed in
    # signature_gaps.json ("missing"); that list may only shrink.
    import signature_conformance as sc
    known = json.loads((pathlib.Path(__file__).parent / "signature_gaps.json").read_text())
    gaps = sc.signature_gaps()
    assert not gaps["signature"], ("signatures that differ from PyTorch's (see "
                                   "scripts/conformance.py --signatures):\n"
                                   + "\n".join(gaps["signature"]))
    gone = sorted(set(gaps["missing"]) - set(known["missing"]))
    assert not gone, f"labkit no longer has: {gone}"
