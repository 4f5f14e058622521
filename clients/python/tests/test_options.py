import unittest

from roomwire.options import ClientOptions, partition_of_org


class OptionsTest(unittest.TestCase):
    def test_resolving_only_url_and_token_gives_the_documented_defaults(self):
        options = ClientOptions(url="http://127.0.0.1:3000", token="t")
        self.assertEqual(
            (
                options.services,
                options.path,
                options.transports,
                options.min_reconnect_delay_s,
                options.max_reconnect_delay_s,
                options.reconnect_jitter,
                options.dedup_ttl_s,
                options.dedup_max_ids,
                options.connect_timeout_s,
                options.request_timeout_s,
                options.max_pending_packets,
                options.liveness_timeout_s,
            ),
            ((), "socket.io", ["websocket"], 1.0, 30.0, 0.5, 300.0, 10_000, 10.0, 30.0, 10_000, 6.0),
        )

    def test_bad_options_fail_at_once_with_a_type_error_naming_them(self):
        cases = [
            (dict(url="ws://x", token="t"), "url"),
            (dict(url="http://x", token=""), "token"),
            (dict(url="http://x", token="t", services="billing"), "services"),
            (dict(url="http://x", token="t", services=["../billing"]), "service name"),
            (dict(url="http://x", token="t", transports=["carrier-pigeon"]), "transports"),
            (dict(url="http://x", token="t", dedup_ttl_s=0), "dedup_ttl_s"),
            (dict(url="http://x", token="t", liveness_timeout_s=0), "liveness_timeout_s"),
            (dict(url="http://x", token="t", max_pending_packets=True), "max_pending_packets"),
            (dict(url="http://x", token="t", min_reconnect_delay_s=5, max_reconnect_delay_s=1), "max_reconnect_delay_s"),
            (dict(url="http://x", token="t", reconnect_jitter=2), "reconnect_jitter"),
        ]
        for kwargs, named in cases:
            with self.assertRaises(TypeError, msg=repr(kwargs)) as caught:
                ClientOptions(**kwargs)
            self.assertIn(named, str(caught.exception))

    def test_partition_affinity_adds_the_org_partition_to_the_url(self):
        self.assertEqual(ClientOptions(url="http://x", token="t").connect_url, "http://x")
        options = ClientOptions(url="http://x", token="t", affinity_org="acme", affinity_partitions=16)
        self.assertEqual(options.connect_url, f"http://x?rw_partition={partition_of_org('acme', 16)}")
        # Reference values of 32-bit FNV-1a, as partitionOfOrg of @roomwire/shared computes it.
        self.assertEqual(partition_of_org("", 1024), 0x811C9DC5 % 1024)
        self.assertEqual(partition_of_org("a", 1000), 0xE40C292C % 1000)
        self.assertEqual(partition_of_org("acme", 1), 0)
        for kwargs, named in [
            (dict(affinity_org="acme"), "go together"),
            (dict(affinity_partitions=16), "go together"),
            (dict(affinity_org="acme:svc", affinity_partitions=16), "affinity_org"),
            (dict(affinity_org="acme", affinity_partitions=0), "affinity_partitions"),
            (dict(affinity_org="acme", affinity_partitions=1025), "affinity_partitions"),
        ]:
            with self.assertRaises(TypeError, msg=repr(kwargs)) as caught:
                ClientOptions(url="http://x", token="t", **kwargs)
            self.assertIn(named, str(caught.exception))

    def test_a_token_function_is_accepted(self):
        self.assertTrue(callable(ClientOptions(url="https://x", token=lambda: "t").token))


if __name__ == "__main__":
    unittest.main()
