"""Hidden tests for ex-03-identity: multiplications of the naive sum and of the identity."""

import numbers

POINTS = {"test_naive_count": 2, "test_identity_count": 2}
CASES = [(2, 1), (3, 4), (7, 5), (39, 8), (100, 16), (257, 3)]


def test_naive_count(naive_products):
    for n, k in CASES:
        got = naive_products(n, k)
        assert isinstance(got, numbers.Integral), "return an integer"
        assert got == k * n * (n - 1) // 2, f"naive count wrong for n_fields={n}, k={k}"


def test_identity_count(identity_products):
    for n, k in CASES:
        got = identity_products(n, k)
        assert isinstance(got, numbers.Integral), "return an integer"
        assert got == k * (n + 1), f"identity count wrong for n_fields={n}, k={k}"
