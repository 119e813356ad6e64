"""Snapshots: canonical encoding, hash chain, compact storage and exact re-scoring."""
from __future__ import annotations

import hashlib
import json
import zlib
from datetime import date

import pytest

from scoring.model import Initiative, Link
from scoring.goals.progress import Current
from scoring.ranking import ScoringParams
from scoring.changes.snapshot import (canonical, compress, decode, decompress, encode, header, item_bytes, item_hash,
                              rescore, seal, snapshot_of, verify)
from tests.conftest import AS_OF


@pytest.fixture
def example(example_graph, example_currents, example_initiatives):
    """docs/model.md's worked example as a sealed snapshot, plus a range, factors, a done
    item and a non-ASCII title so that every kind of field goes through the encoding."""
    extra = [Initiative(key="E", title="Écran d'accueil — onboarding", status="Done", status_category="done",
                        effort=3, links=(Link(kpi="activation", low=0.02, high=0.06, confidence=0.7),)),
             Initiative(key="F", title="Referral", effort=5, confidence=0.9, labels=("kpi:nps", "must"),
                        factors={"reach": 450.0, "factor_impact": 2.0}, blocked_by=("A",), team="growth",
                        mandatory=True, url="https://acme.atlassian.net/browse/F",
                        links=(Link(kpi="nps", low=0.01, high=0.03),))]
    g = example_graph
    return seal(snapshot_of(example_initiatives + extra, g.objectives, g.kpis, g.edges, example_currents,
                            ScoringParams(as_of=AS_OF), name="week 27", meta={"run": 12}))


def store_of(*encoded):
    manifests, items = {}, {}
    for manifest, new in encoded:
        manifests[header(manifest)["hash"]] = manifest
        items.update(new)
    return manifests, items


def fetcher(items):
    return lambda hashes: {h: items[h] for h in hashes if h in items}


def test_canonical_encoding_sorts_keys_and_keeps_floats_exact():
    assert canonical({"b": 1, "a": [0.1 + 0.2, -0.0, 1e-300]}) == b'{"a":[0.30000000000000004,-0.0,1e-300],"b":1}'
    with pytest.raises(ValueError):
        canonical({"x": float("nan")})
    it = Initiative(key="K-1", effort=2, links=(Link(kpi="nps", low=0.1, high=0.1),))
    assert item_bytes(it) == b'{"effort":2.0,"key":"K-1","links":[{"high":0.1,"kpi":"nps","low":0.1}]}'
    assert item_hash(item_bytes(it)) == hashlib.sha256(item_bytes(it)).hexdigest()


def test_hash_is_sha256_of_previous_hash_and_content(example):
    from scoring.changes.snapshot import content
    assert example.hash == hashlib.sha256(b"" + content(example)).hexdigest()
    nxt = seal(example, prev_hash=example.hash)
    assert nxt.hash == hashlib.sha256(example.hash.encode() + content(example)).hexdigest()
    assert json.loads(content(example))["items"] == [item_hash(item_bytes(it)) for it in example.initiatives]


def test_items_are_kept_in_key_order_and_keys_must_be_unique():
    s = snapshot_of([Initiative(key="b"), Initiative(key="a")], [], [], [], {}, ScoringParams(as_of=AS_OF))
    assert [it.key for it in s.initiatives] == ["a", "b"]
    with pytest.raises(ValueError, match="'a' appears twice"):
        snapshot_of([Initiative(key="a"), Initiative(key="a")], [], [], [], {}, ScoringParams(as_of=AS_OF))


def test_encode_decode_round_trip_rescores_exactly(example):
    manifest, items = encode(example)
    back = decode(manifest, fetcher(items))
    assert back == example and back.hash == example.hash and back.meta == {"run": 12}
    before, after = rescore(example, include_done=True), rescore(back, include_done=True)
    assert after.items() == before.items()
    assert after.score.tolist() == before.score.tolist() and after.impact.tolist() == before.impact.tolist()
    assert verify([back]) == []


def test_params_with_a_text_default_effort_round_trip():
    s = seal(snapshot_of([], [], [], [], {"nps": Current(41.5, date(2026, 6, 30))},
                         ScoringParams(as_of=AS_OF, default_effort="median", urgency=1.5)))
    manifest, items = encode(s)
    back = decode(manifest, fetcher(items))
    assert back.params == s.params and back.params.default_effort == "median"
    assert back.currents == {"nps": Current(41.5, date(2026, 6, 30))}


def test_next_snapshot_stores_only_what_changed(example):
    first = encode(example)
    changed = [it.model_copy(update={"effort": 8.0}) if it.key == "B" else it for it in example.initiatives]
    second_snap = seal(snapshot_of([it for it in changed if it.key != "D"] + [Initiative(key="G", effort=1)],
                                   example.objectives, example.kpis, example.edges, example.currents,
                                   example.params, name="week 28"), example.hash)
    manifests, items = store_of(first)
    manifest, new = encode(second_snap, first[0], manifests.__getitem__)
    assert sorted(json.loads(decompress(v))["key"] for v in new.values()) == ["B", "G"]
    listing = header(manifest)["items"]
    assert listing["base"] == example.hash and listing["depth"] == 1
    assert sorted(listing["set"]) == ["B", "G"] and listing["drop"] == ["D"]
    manifests, items = store_of(first, (manifest, new))
    back = decode(manifest, fetcher(items), manifests.__getitem__)
    assert back == second_snap
    assert verify([decode(first[0], fetcher(items)), back]) == []


def test_a_full_manifest_every_full_every_snapshots(example):
    """full_every=2: full, delta, full."""
    s1 = encode(example, full_every=2)
    s2 = encode(seal(example, example.hash), s1[0], store_of(s1)[0].__getitem__, full_every=2)
    s3 = encode(seal(example, example.hash), s2[0], store_of(s1, s2)[0].__getitem__, full_every=2)
    assert [header(m)["items"]["depth"] for m, _ in (s1, s2, s3)] == [0, 1, 0]
    assert header(s2[0])["items"]["set"] == {} and len(header(s3[0])["items"]["set"]) == 6
    assert s2[1] == {} and s3[1] == {}      # every item version is stored already


def test_daily_growth_is_the_changed_items_only():
    """200 items, 2 (1 %) change per day for 10 days: each day stores 2 items and a
    manifest that lists only them."""
    items = [Initiative(key=f"ROAD-{i}", title=f"Item {i}", effort=float(i % 7 + 1)) for i in range(200)]
    manifests, store, previous, prev_hash = {}, {}, None, ""
    for day in range(10):
        if day:
            for j in (day * 7, day * 13 + 1):
                items[j] = items[j].model_copy(update={"effort": items[j].effort + 1})
        s = seal(snapshot_of(items, [], [], [], {}, ScoringParams(as_of=AS_OF), name=f"d{day}"), prev_hash)
        manifest, new = encode(s, previous, manifests.__getitem__)
        assert len(new) == (200 if day == 0 else 2)
        assert len(header(manifest)["items"]["set"]) == (200 if day == 0 else 2)
        manifests[s.hash], previous, prev_hash = manifest, manifest, s.hash
        store.update(new)
    assert len(store) == 200 + 9 * 2
    assert decode(previous, fetcher(store), manifests.__getitem__).initiatives == sorted(items, key=lambda it: it.key)


def test_verify_detects_an_item_edited_in_the_stored_bytes(example):
    first = encode(example)
    second_snap = seal(example, example.hash)
    manifests, items = store_of(first)
    second = encode(second_snap, first[0], manifests.__getitem__)
    # Tamper: raise A's lift from 10 % to 30 % in the stored item, under the same hash.
    (a_hash,) = [h for h, v in items.items() if json.loads(decompress(v))["key"] == "A"]
    text = decompress(items[a_hash])
    assert b'"high":0.1' in text
    items[a_hash] = compress(text.replace(b'"high":0.1', b'"high":0.3').replace(b'"low":0.1', b'"low":0.3'))
    chain = [decode(first[0], fetcher(items)), decode(second[0], fetcher(items), manifests.__getitem__)]
    assert chain[0].initiatives[0].links[0].low == 0.3          # the edit is what decode reads
    problems = verify(chain)
    assert problems == ["snapshot 1 (week 27): its content does not match its hash (edited)",
                        "snapshot 2 (week 27): its content does not match its hash (edited)"]


def test_verify_detects_an_edited_manifest_and_a_broken_chain(example):
    first = encode(example)
    manifests, items = store_of(first)
    body = json.loads(zlib.decompress(first[0]))
    body["objectives"][0]["weight"] = 30.0                        # revenue weight 3 -> 30
    edited = zlib.compress(canonical(body))
    assert verify([decode(edited, fetcher(items))]) == [
        "snapshot 1 (week 27): its content does not match its hash (edited)"]
    s2 = seal(example, example.hash)
    s3 = seal(example, s2.hash)
    assert verify([example, s2, s3]) == []
    assert verify([example, s3]) == ["snapshot 2 (week 27): its previous hash is not snapshot 1's (chain broken)"]


def test_decode_names_missing_items(example):
    manifest, items = encode(example)
    with pytest.raises(ValueError, match="6 item"):
        decode(manifest, lambda hashes: {})


def test_verify_stored_checks_manifests_and_each_item_once_without_decoding(example):
    from scoring.changes.snapshot import verify_stored
    first = encode(example)
    manifests, items = store_of(first)
    second = encode(seal(example, example.hash), first[0], manifests.__getitem__)
    manifests, items = store_of(first, second)
    chain = [first[0], second[0]]
    assert verify_stored(chain, fetcher(items), manifests.__getitem__) == []
    (a_hash,) = [h for h, v in items.items() if json.loads(decompress(v))["key"] == "A"]
    items[a_hash] = compress(decompress(items[a_hash]).replace(b'"low":0.1', b'"low":0.3'))
    assert verify_stored(chain, fetcher(items), manifests.__getitem__) == [
        f"item {a_hash[:12]} (A): its bytes do not match its hash (edited)"]
    assert verify_stored([second[0]], fetcher(items), manifests.__getitem__)[-1].startswith(f"item {a_hash[:12]}")
    assert verify_stored([second[0], first[0]], fetcher(items), manifests.__getitem__)[0] == \
        "snapshot 2 (week 27): its previous hash is not snapshot 1's (chain broken)"


def test_an_unsealed_snapshot_is_not_encoded():
    s = snapshot_of([Initiative(key="A")], [], [], [], {}, ScoringParams(as_of=AS_OF))
    with pytest.raises(ValueError, match="seal the snapshot"):
        encode(s)
