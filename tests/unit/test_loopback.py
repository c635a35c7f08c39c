"""Which `serve --host` values keep development mode on this host."""

import pytest

from sharemyshows_rt.loopback import is_loopback


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.1", "127.0.0.2", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"]
)
def test_loopback_addresses_and_names(host):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "0", "", "192.0.2.1", "::ffff:192.0.2.1", "no-such-host.invalid"]
)
def test_every_other_address_is_not(host):
    assert not is_loopback(host)
