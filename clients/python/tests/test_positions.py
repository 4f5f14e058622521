import unittest

from roomwire.positions import Position, compare_offsets, is_newer_position, is_valid_offset


class OffsetTest(unittest.TestCase):
    def test_valid_offsets_are_ms_dash_seq_of_ascii_digits(self):
        for offset in ("0-0", "1718000000000-4", "9" * 20 + "-" + "9" * 20):
            self.assertTrue(is_valid_offset(offset), offset)
        for offset in ("", "1", "1-", "-1", " 1-0", "1-0\n", "1e3-0", "\uff11-\uff10", "9" * 21 + "-0", "$", "+", 10, None):
            self.assertFalse(is_valid_offset(offset), repr(offset))

    def test_offsets_compare_as_numbers_not_strings(self):
        self.assertLess(compare_offsets("999-0", "1000-0"), 0)
        self.assertLess(compare_offsets("5-9", "5-10"), 0)
        self.assertGreater(compare_offsets("6-0", "5-99"), 0)
        self.assertEqual(compare_offsets("18446744073709551615-1", "18446744073709551615-1"), 0)
        self.assertGreater(compare_offsets("18446744073709551616-0", "18446744073709551615-0"), 0)

    def test_comparing_an_invalid_offset_raises(self):
        with self.assertRaises(ValueError):
            compare_offsets("x", "1-0")


class PositionTest(unittest.TestCase):
    def test_a_candidate_is_adopted_without_a_position_in_another_epoch_or_when_greater(self):
        current = Position("e1", "100-0")
        self.assertTrue(is_newer_position(current, None))
        self.assertTrue(is_newer_position(Position("e2", "1-0"), current))
        self.assertTrue(is_newer_position(Position("e1", "100-1"), current))
        self.assertFalse(is_newer_position(Position("e1", "100-0"), current))
        self.assertFalse(is_newer_position(Position("e1", "99-5"), current))

    def test_parse_takes_only_wire_positions(self):
        self.assertEqual(Position.parse({"epoch": "e", "offset": "1-2"}), Position("e", "1-2"))
        for bad in (None, "1-2", {"epoch": "", "offset": "1-2"}, {"epoch": "e", "offset": "12"}, {"offset": "1-2"}):
            self.assertIsNone(Position.parse(bad), repr(bad))
        self.assertEqual(Position("e", "1-2").to_wire(), {"epoch": "e", "offset": "1-2"})


if __name__ == "__main__":
    unittest.main()
