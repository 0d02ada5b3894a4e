"""The signature header against a value computed by another implementation (openssl):

    printf '%s' '1700000000.{"id":"k1"}' | openssl dgst -sha256 -hmac 'whsec_test'
"""

from tracker.webhooks.signing import signature

OPENSSL = "c083f4e63287ffec9f1f3fb5c4518faeee81ee9946d15f81eeda436dcec203f4"


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    assert signature("whsec_test", 1700000000, b'{"id":"k1"}') == f"t=1700000000,v1={OPENSSL}"


def test_any_change_changes_it():
    base = signature("whsec_test", 1700000000, b'{"id":"k1"}')
    assert signature("whsec_test", 1700000001, b'{"id":"k1"}') != base
    assert signature("whsec_test", 1700000000, b'{"id":"k2"}') != base
    assert signature("whsec_tesT", 1700000000, b'{"id":"k1"}') != base
