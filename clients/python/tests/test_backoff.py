import unittest

from roomwire.backoff import reconnect_delay_s, should_retry_refusal


class BackoffTest(unittest.TestCase):
    def test_the_delay_doubles_from_the_minimum_up_to_the_maximum(self):
        middle = lambda: 0.5  # noqa: E731 - u = 0: no jitter
        self.assertEqual([reconnect_delay_s(n, 1.0, 30.0, 0.5, middle) for n in range(1, 8)], [1, 2, 4, 8, 16, 30, 30])
        self.assertEqual(reconnect_delay_s(5000, 1.0, 30.0, 0.5, middle), 30.0)

    def test_the_jitter_spreads_the_delay_by_the_given_fraction(self):
        self.assertAlmostEqual(reconnect_delay_s(1, 1.0, 30.0, 0.5, lambda: 0.0), 0.5)
        self.assertAlmostEqual(reconnect_delay_s(1, 1.0, 30.0, 0.5, lambda: 1.0), 1.5)
        self.assertAlmostEqual(reconnect_delay_s(2, 1.0, 30.0, 0.0, lambda: 1.0), 2.0)

    def test_a_refusal_is_retried_with_a_token_function_or_a_retryable_code_but_never_for_the_protocol_version(self):
        self.assertTrue(should_retry_refusal("RW_ERR_UNAUTHORIZED", token_is_function=True, retryable=False))
        self.assertFalse(should_retry_refusal("RW_ERR_UNAUTHORIZED", token_is_function=False, retryable=False))
        self.assertTrue(should_retry_refusal("RW_ERR_RATE_LIMITED", token_is_function=False, retryable=True))
        self.assertFalse(should_retry_refusal("RW_ERR_UNSUPPORTED_PROTOCOL", token_is_function=True, retryable=False))


if __name__ == "__main__":
    unittest.main()
