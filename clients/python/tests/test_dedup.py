import unittest

from roomwire.dedup import DedupCache


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class DedupCacheTest(unittest.TestCase):
    def test_an_id_seen_within_the_window_is_a_duplicate(self):
        seen = DedupCache(ttl_s=300, max_ids=10)
        self.assertTrue(seen.add("a"))
        self.assertFalse(seen.add("a"))
        self.assertTrue(seen.add("b"))
        self.assertIn("a", seen)
        self.assertEqual(len(seen), 2)

    def test_ids_expire_after_the_ttl(self):
        clock = FakeClock()
        seen = DedupCache(ttl_s=300, max_ids=10, now=clock)
        seen.add("a")
        clock.now += 299.9
        seen.add("b")
        self.assertFalse(seen.add("a"))
        clock.now += 0.1
        self.assertTrue(seen.add("a"), "expired after exactly the TTL")
        self.assertEqual(len(seen), 2)

    def test_the_oldest_ids_go_first_beyond_the_size_bound(self):
        seen = DedupCache(ttl_s=300, max_ids=3)
        for event_id in "abcd":
            seen.add(event_id)
        self.assertEqual(len(seen), 3)
        self.assertNotIn("a", seen)
        self.assertFalse(seen.add("d"))
        self.assertTrue(seen.add("a"))

    def test_bounds_must_be_positive(self):
        for ttl, size in ((0, 1), (1, 0), (-1, 5)):
            with self.assertRaises(ValueError):
                DedupCache(ttl_s=ttl, max_ids=size)


if __name__ == "__main__":
    unittest.main()
