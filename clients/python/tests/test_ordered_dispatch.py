"""The reading thread hands every message on in order (PROTOCOL.md §1): checked against the installed python-engineio."""

import threading
import unittest

import engineio
from engineio import packet as eio_packet

from roomwire.transport import OrderedEngineIOClient, OrderedSocketIOClient


def message(data):
    return eio_packet.Packet(eio_packet.MESSAGE, data=data)


class OrderedDispatchTest(unittest.TestCase):
    def test_engineio_messages_are_handled_on_the_reading_thread_in_arrival_order(self):
        client = OrderedEngineIOClient()
        seen = []
        client.on("message", lambda data: seen.append((data, threading.current_thread())))
        for i in range(500):
            client._receive_packet(message(str(i)))
        self.assertEqual([data for data, _ in seen], [str(i) for i in range(500)])
        self.assertTrue(all(thread is threading.current_thread() for _, thread in seen))

    def test_stock_engineio_hands_each_message_to_a_new_thread(self):
        # Why the override exists: if this ever fails, python-engineio changed how it dispatches messages.
        client = engineio.Client()
        seen = []
        done = threading.Event()

        def handler(data):
            seen.append(threading.current_thread())
            done.set()

        client.on("message", handler)
        client._receive_packet(message("0"))
        self.assertTrue(done.wait(5))
        self.assertIsNot(seen[0], threading.current_thread())

    def test_a_binary_event_and_its_attachment_are_joined_and_handled_between_their_neighbours(self):
        sio = OrderedSocketIOClient(reconnection=False, handle_sigint=False)
        seen = []
        sio.on("rw:event", lambda *args: seen.append(args))
        eio = sio.eio
        eio._receive_packet(message('2["rw:event",{"events":[]},"1-0"]'))
        eio._receive_packet(message('51-["rw:event",{"n":1,"z":{"_placeholder":true,"num":0}},"1-1"]'))
        eio._receive_packet(eio_packet.Packet(eio_packet.MESSAGE, data=b"\x01\x02"))
        eio._receive_packet(message('2["rw:event",{"events":[]},"1-2"]'))
        self.assertEqual(seen, [({"events": []}, "1-0"), ({"n": 1, "z": b"\x01\x02"}, "1-1"), ({"events": []}, "1-2")])


if __name__ == "__main__":
    unittest.main()
