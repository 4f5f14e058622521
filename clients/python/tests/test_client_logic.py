"""What the handler thread does with each item (PROTOCOL.md §5, §6 B), fed directly: no network."""

import json
import unittest
import zlib

from roomwire import Client, Position, ResyncInfo


def envelope(i, service="billing", type="invoice.paid"):
    return {"id": f"id-{i}", "org": "acme", "service": service, "type": type, "ts": 1718000000000 + i, "data": {"n": i}}


def frame(*ids):
    return {"events": [envelope(i) for i in ids]}


class ClientLogicTest(unittest.TestCase):
    def setUp(self):
        self.client = Client("http://127.0.0.1:9", token="t", services=["billing"])
        self.delivered = []
        self.resyncs = []
        self.errors = []
        self.client.on("billing", "invoice.paid", lambda data, e: self.delivered.append(e["id"]))
        self.client.on_resync(self.resyncs.append)
        self.client.on_error(self.errors.append)

    def test_each_event_is_delivered_once_in_order_across_frames(self):
        self.client._handle_event(frame(1, 2, 3), "10-0")
        self.client._handle_event(frame(2, 3, 4), "10-0")
        self.client._handle_event(frame(5))
        self.assertEqual(self.delivered, ["id-1", "id-2", "id-3", "id-4", "id-5"])
        self.assertEqual(self.client.metrics()["duplicates"], 2)

    def test_a_compressed_frame_is_inflated_and_delivered_in_its_place(self):
        compressor = zlib.compressobj(wbits=-15)
        z = compressor.compress(json.dumps(frame(2, 3)).encode()) + compressor.flush()
        self.client._handle_event(frame(1), "1-1")
        self.client._handle_event({"n": 2, "z": z}, "1-2")
        self.client._handle_event(frame(4), "1-3")
        self.assertEqual(self.delivered, ["id-1", "id-2", "id-3", "id-4"])
        self.assertEqual(self.client.metrics()["compressed_frames"], 1)

    def test_the_position_follows_section_5(self):
        c = self.client
        c._handle_event(frame(1), "5-0")
        self.assertIsNone(c.position, "a frame's offset is a candidate only once a position exists")
        c._on_subscribe_ack(["billing"], {"ok": True, "services": ["billing"], "position": {"epoch": "e1", "offset": "10-0"}})
        self.assertEqual(c.position, Position("e1", "10-0"))
        c._handle_event(frame(2), "12-0")
        self.assertEqual(c.position, Position("e1", "12-0"))
        c._handle_position({"epoch": "e1"}, "20-0")
        self.assertEqual(c.position, Position("e1", "12-0"), "a watermark counts only once the connection is synced")
        c._synced = True
        c._handle_position({"epoch": "e1"}, "11-0")
        self.assertEqual(c.position, Position("e1", "12-0"), "the position never moves back within an epoch")
        c._handle_position({"epoch": "e1"}, "20-0")
        self.assertEqual(c.position, Position("e1", "20-0"))
        c._handle_event(frame(3))
        self.assertEqual(c.position, Position("e1", "20-0"), "a volatile frame has no offset")
        c._handle_position({"epoch": "e2"}, "3-0")
        self.assertEqual(c.position, Position("e2", "3-0"), "a new epoch replaces the position")

    def test_an_undecodable_frame_is_reported_and_neither_delivered_nor_taken_as_a_position(self):
        self.client._position = Position("e", "1-0")
        self.client._handle_event({"n": 1, "z": b"not deflate"}, "9-0")
        self.client._handle_event({"events": [{"id": "x"}]}, "9-1")
        self.assertEqual(self.delivered, [])
        self.assertEqual(self.client.position, Position("e", "1-0"))
        self.assertEqual([e.code for e in self.errors], ["RW_ERR_INTERNAL", "RW_ERR_INTERNAL"])

    def test_a_resume_that_recovered_confirms_the_services_without_a_resync(self):
        self.client._on_resume_ack(["billing"], {"ok": True, "recovered": True, "services": ["billing"], "position": {"epoch": "e", "offset": "7-0"}, "replayed": 3})
        self.assertEqual(self.resyncs, [])
        self.assertEqual(self.client._confirmed, {"billing"})
        self.assertEqual(self.client.position, Position("e", "7-0"))
        self.assertEqual(self.client.metrics()["recovered"], 1)

    def test_a_resume_that_did_not_recover_resyncs_the_acked_services_with_its_reason(self):
        self.client._on_resume_ack(["billing"], {"ok": True, "recovered": False, "services": ["billing"], "position": {"epoch": "e", "offset": "7-0"}, "reason": "trimmed"})
        self.assertEqual(self.resyncs, [ResyncInfo(["billing"], "trimmed")])
        self.assertEqual(self.client._confirmed, {"billing"})

    def test_a_failed_resume_resyncs_every_service_asked_and_leaves_them_to_be_subscribed_afresh(self):
        self.client._confirmed.add("stale")
        self.client._on_resume_ack(["billing", "tickets"], {"ok": False, "error": {"code": "RW_ERR_FORBIDDEN", "message": "no"}})
        self.assertEqual(self.resyncs, [ResyncInfo(["billing", "tickets"], "RW_ERR_FORBIDDEN")])
        self.assertEqual(self.client._confirmed, set())
        self.assertEqual([e.code for e in self.errors], ["RW_ERR_FORBIDDEN"])

    def test_a_resync_notice_without_services_names_every_wanted_service(self):
        self.client._handle_resync({"services": ["billing"], "reason": "stream-reset"})
        self.client._handle_resync("garbage")
        self.assertEqual(self.resyncs, [ResyncInfo(["billing"], "stream-reset"), ResyncInfo(["billing"], "unknown")])

    def test_notices_with_unknown_codes_are_ignored(self):
        self.client._handle_notice({"code": "RW_ERR_DRAINING", "message": "bye"})
        self.client._handle_notice({"code": "RW_ERR_NEW_THING", "message": "?"})
        self.assertEqual([(e.code, e.message) for e in self.errors], [("RW_ERR_DRAINING", "bye")])

    def test_a_handler_that_raises_does_not_stop_the_others(self):
        self.client.on("billing", "*", lambda data, e: 1 / 0)
        with self.assertLogs("roomwire", level="ERROR"):
            self.client._handle_event(frame(1, 2))
        self.assertEqual(self.delivered, ["id-1", "id-2"])

    def test_a_non_retryable_refusal_of_a_batch_is_retried_one_by_one_and_the_refused_service_dropped(self):
        c = self.client
        c._wanted = dict.fromkeys(["billing", "presence"])
        c._on_subscribe_ack(["billing", "presence"], {"ok": False, "error": {"code": "RW_ERR_FORBIDDEN", "message": "presence"}})
        self.assertTrue(c._one_by_one)
        c._on_subscribe_ack(["presence"], {"ok": False, "error": {"code": "RW_ERR_FORBIDDEN", "message": "presence"}})
        self.assertEqual(list(c._wanted), ["billing"])
        self.assertEqual([(e.code, e.services) for e in self.errors], [("RW_ERR_FORBIDDEN", ["presence"])])

    def test_the_state_is_connected_only_once_every_wanted_service_is_confirmed(self):
        c = self.client
        c._handle_connect(None)  # no position yet: a subscribe (it cannot be sent here: no network)
        self.assertNotEqual(c.state, "connected")
        c._on_subscribe_ack(["billing"], {"ok": True, "services": ["billing"], "position": {"epoch": "e", "offset": "1-0"}})
        self.assertEqual(c.state, "connected")
        self.assertTrue(c.wait_connected(0))

    def test_unsubscribe_on_a_closed_client_resolves_at_once(self):
        self.client.close()
        self.assertTrue(self.client.unsubscribe(["billing"]).done())

    def test_service_names_are_checked_when_asked(self):
        with self.assertRaises(TypeError):
            self.client.subscribe("billing")
        with self.assertRaises(TypeError):
            self.client.subscribe(["bad name"])


if __name__ == "__main__":
    unittest.main()
