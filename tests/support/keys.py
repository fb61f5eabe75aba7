"""The tests' payload keys: test-only, committed on purpose.

The encrypted histories under tests/workflows/histories were recorded with `KEY_A`; the replay
test opens them with it. Never use these keys outside the tests.
"""

from __future__ import annotations

from switchboard.codec import Keyring
from switchboard.converter import data_converter

KEY_A = "test-a:wGhd1zws2CfcfNYSXyLcBTBDxqLZ/IoqivJq0R7tjnc="
KEY_B = "test-b:zmCMQxzOozXNQskoVne4Wn2VTR0VtjqpS8ChLuMBtbo="
PAYLOAD_KEYS = KEY_A
KEYRING = Keyring.parse(PAYLOAD_KEYS)
# What every test client, worker and replayer uses, as a deployment's processes would.
DATA_CONVERTER = data_converter(KEYRING)
