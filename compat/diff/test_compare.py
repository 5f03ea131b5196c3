#!/usr/bin/env python3
"""Tests of compare.py and the committed accepted/reference files (stdlib unittest).

Usage: python3 compat/diff/test_compare.py [HOST:PORT]
(compat/run.sh's diff suite runs it as diff-compare-selftest and appends a bootstrap address,
which is ignored: no broker is needed.)
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class Differences(unittest.TestCase):
    def test_equal_observations_have_no_difference(self):
        obs = {"a": {"b": [1, 2, {"c": None}]}, "d": "x"}
        self.assertEqual(compare.differences(obs, json.loads(json.dumps(obs))), [])

    def test_leaf_difference_is_reported_at_its_path(self):
        diffs = compare.differences({"a": {"b": 1}}, {"a": {"b": 2}})
        self.assertEqual(diffs, [("a/b", 1, 2)])

    def test_missing_subtree_is_one_difference_with_the_whole_value(self):
        diffs = compare.differences({"a": {"b": {"x": 1, "y": 2}}}, {"a": {}})
        self.assertEqual(diffs, [("a/b", {"x": 1, "y": 2}, compare.ABSENT)])

    def test_list_items_are_compared_by_index_and_extra_items_are_absent(self):
        diffs = compare.differences({"l": [1, 2]}, {"l": [1, 3, 4]})
        self.assertEqual(diffs, [("l[1]", 2, 3), ("l[2]", compare.ABSENT, 4)])

    def test_bool_and_int_differ_but_int_and_float_do_not(self):
        self.assertEqual(compare.differences({"x": True}, {"x": 1}), [("x", True, 1)])
        self.assertEqual(compare.differences({"x": 1}, {"x": 1.0}), [])

    def test_string_and_number_differ(self):
        self.assertEqual(compare.differences({"x": "1"}, {"x": 1}), [("x", "1", 1)])


class AcceptedEntries(unittest.TestCase):
    def test_glob_and_pinned_values(self):
        e = {"path": "a/*/error", "reference": "NONE", "observed": "X"}
        self.assertTrue(compare.entry_matches(e, "a/b/error", "NONE", "X"))
        self.assertFalse(compare.entry_matches(e, "a/b/error", "NONE", "Y"))
        self.assertFalse(compare.entry_matches(e, "a/b/other", "NONE", "X"))

    def test_a_list_of_globs(self):
        e = {"path": ["x/one", "x/two"]}
        self.assertTrue(compare.entry_matches(e, "x/two", 1, 2))
        self.assertFalse(compare.entry_matches(e, "x/three", 1, 2))


class CommandLine(unittest.TestCase):
    def run_compare(self, ref, obs, accepted=None, extra=()):
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for name, doc in (("ref.json", ref), ("obs.json", obs)):
                p = os.path.join(d, name)
                with open(p, "w", encoding="utf-8") as f:
                    json.dump({"scenario": "s", "observation": doc}, f)
                paths.append(p)
            args = [sys.executable, os.path.join(HERE, "compare.py"), *paths, *extra]
            if accepted is not None:
                p = os.path.join(d, "accepted.json")
                with open(p, "w", encoding="utf-8") as f:
                    json.dump(accepted, f)
                args += ["--accepted", p]
            r = subprocess.run(args, capture_output=True, text=True, check=False)
            return r.returncode, r.stdout

    def test_identical_passes(self):
        self.assertEqual(self.run_compare({"a": 1}, {"a": 1})[0], 0)

    def test_unaccepted_difference_fails_and_names_the_path(self):
        rc, out = self.run_compare({"a": 1}, {"a": 2})
        self.assertEqual(rc, 1)
        self.assertIn("DIFF    a: reference=1 observed=2", out)

    def test_accepted_difference_passes(self):
        acc = [{"scenario": "s", "path": "a", "reason": "BUG: x"}]
        rc, out = self.run_compare({"a": 1}, {"a": 2}, acc)
        self.assertEqual(rc, 0)
        self.assertIn("ACCEPT", out)

    def test_stale_entry_fails(self):
        acc = [{"scenario": "s", "path": "gone", "reason": "BUG: fixed since"}]
        rc, out = self.run_compare({"a": 1}, {"a": 1}, acc)
        self.assertEqual(rc, 1)
        self.assertIn("STALE", out)

    def test_entries_of_other_scenarios_are_neither_used_nor_stale(self):
        acc = [{"scenario": "other", "path": "*", "reason": "r"}]
        self.assertEqual(self.run_compare({"a": 1}, {"a": 1}, acc)[0], 0)
        self.assertEqual(self.run_compare({"a": 1}, {"a": 2}, acc)[0], 1)

    def test_no_accepted_ignores_the_file(self):
        acc = [{"scenario": "s", "path": "a", "reason": "r"}]
        self.assertEqual(self.run_compare({"a": 1}, {"a": 2}, acc, ["--no-accepted"])[0], 1)

    def test_entry_without_reason_is_bad_input(self):
        self.assertEqual(self.run_compare({"a": 1}, {"a": 1}, [{"scenario": "s", "path": "a"}])[0], 2)


def reference_dirs():
    """The recordings' folders: reference-kafka-VERSION/ (4.1.1, and 4.4.0 for share groups)."""
    return sorted(os.path.join(HERE, d) for d in os.listdir(HERE) if d.startswith("reference-kafka-"))


class TheCommittedFiles(unittest.TestCase):
    def test_accepted_json_entries_are_well_formed(self):
        with open(os.path.join(HERE, "accepted.json"), encoding="utf-8") as f:
            entries = json.load(f)
        names = set()
        for d in reference_dirs():
            names |= set(os.listdir(d))
        for e in entries:
            self.assertTrue(e.get("reason"), e)
            self.assertIn(f"{e['scenario']}.json", names, e)

    def test_every_reference_compares_equal_to_itself(self):
        self.assertIn(os.path.join(HERE, "reference-kafka-4.1.1"), reference_dirs())
        for ref_dir in reference_dirs():
            for name in os.listdir(ref_dir):
                with open(os.path.join(ref_dir, name), encoding="utf-8") as f:
                    doc = json.load(f)
                self.assertEqual(doc["scenario"] + ".json", name)
                self.assertEqual(compare.differences(doc["observation"], doc["observation"]), [])

    def test_every_scenario_has_a_recording_of_its_kafka_version(self):
        observe = os.path.join(HERE, "observe.sh")
        names = subprocess.run([observe, "--list"], capture_output=True, text=True, check=True).stdout.split()
        self.assertIn("java-share", names)
        for name in names:
            version = subprocess.run([observe, "--kafka-version", name], capture_output=True, text=True, check=True).stdout.strip()
            path = os.path.join(HERE, f"reference-kafka-{version}", f"{name}.json")
            self.assertTrue(os.path.isfile(path), path)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
