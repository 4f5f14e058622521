import json
import unittest
import zlib

from roomwire.frames import FrameError, decode_frame, inflate_raw


def envelope(i):
    return {"id": f"id-{i}", "org": "acme", "service": "billing", "type": "invoice.paid", "ts": 1718000000000 + i, "data": {"invoiceId": f"in-{i}", "amountCents": i}}


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


class FrameTest(unittest.TestCase):
    def test_a_plain_frame_gives_its_envelopes_in_order(self):
        events = [envelope(i) for i in range(3)]
        self.assertEqual(decode_frame({"events": events}), events)

    def test_a_compressed_frame_is_raw_deflate_of_a_plain_frames_json(self):
        events = [envelope(i) for i in range(20)]
        z = deflate_raw(json.dumps({"events": events}).encode("utf-8"))
        self.assertEqual(decode_frame({"n": 20, "z": z}), events)

    def test_a_zlib_or_gzip_wrapped_stream_is_not_raw_deflate(self):
        payload = json.dumps({"events": [envelope(1)]}).encode("utf-8")
        with self.assertRaises(FrameError):
            decode_frame({"n": 1, "z": zlib.compress(payload)})

    def test_a_truncated_stream_is_refused(self):
        z = deflate_raw(json.dumps({"events": [envelope(i) for i in range(50)]}).encode("utf-8"))
        with self.assertRaises(FrameError):
            decode_frame({"n": 50, "z": z[: len(z) // 2]})

    def test_a_stream_that_inflates_beyond_the_bound_is_refused(self):
        with self.assertRaises(FrameError):
            inflate_raw(deflate_raw(b"0" * 1_000_000), max_bytes=100_000)
        self.assertEqual(len(inflate_raw(deflate_raw(b"0" * 100_000), max_bytes=100_000)), 100_000)

    def test_anything_but_a_frame_of_envelopes_is_refused(self):
        for bad in (
            None,
            [],
            {"events": "x"},
            {"events": [{"id": "1"}]},
            {"events": [dict(envelope(1), ts=True)]},
            {"events": [dict(envelope(1), id=7)]},
            {"n": 1, "z": "not bytes"},
            {"n": 0, "z": b""},
        ):
            with self.assertRaises(FrameError, msg=repr(bad)):
                decode_frame(bad)


if __name__ == "__main__":
    unittest.main()
