"""Backtest tests: the shared parity helpers get pytest's assertion rewriting (detailed failure messages)."""
import pytest

pytest.register_assert_rewrite("tests.backtest.parity")
