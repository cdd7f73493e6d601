"""Settings from the environment: defaults, valid values, and every bad one named at once."""

from __future__ import annotations

import pytest

from evbill.config import Settings
from evbill.domain.errors import InvalidInput


def test_the_api_key_cache_defaults_to_5_seconds_and_0_turns_it_off():
    assert Settings.from_environment({}).api_key_cache_seconds == 5
    assert Settings.from_environment({"EVBILL_API_KEY_CACHE": "0"}).api_key_cache_seconds == 0
    assert Settings.from_environment({"EVBILL_API_KEY_CACHE": "30"}).api_key_cache_seconds == 30


@pytest.mark.parametrize("text", ["-1", "five", "1.5", ""])
def test_a_bad_api_key_cache_time_is_refused_naming_the_variable(text: str):
    with pytest.raises(InvalidInput) as refused:
        Settings.from_environment({"EVBILL_API_KEY_CACHE": text, "EVBILL_RATE_LIMIT": "0"})

    assert [(problem.path, problem.message) for problem in refused.value.problems] == [
        ("EVBILL_RATE_LIMIT", "'0' is not a positive whole number"),
        ("EVBILL_API_KEY_CACHE", f"{text!r} is not a whole number of seconds (0 turns it off)"),
    ]


def test_the_ocpp_frame_limit_defaults_to_64_kib_and_the_websocket_buffers_four_frames_at_most():
    default = Settings.from_environment({})
    chosen = Settings.from_environment({"EVBILL_OCPP_MAX_FRAME": "16384"})

    assert (default.ocpp_max_frame_bytes, default.websocket_max_bytes) == (65536, 262144)
    assert (chosen.ocpp_max_frame_bytes, chosen.websocket_max_bytes) == (16384, 65536)
    with pytest.raises(InvalidInput, match="invalid settings"):
        Settings.from_environment({"EVBILL_OCPP_MAX_FRAME": "0"})


def test_mail_settings_are_read_and_a_bad_server_or_sender_named():
    settings = Settings.from_environment(
        {"EVBILL_SMTP_URL": "smtp://127.0.0.1:2525", "EVBILL_MAIL_FROM": "b@x.org"}
    )
    assert (settings.smtp_url, settings.mail_from) == ("smtp://127.0.0.1:2525", "b@x.org")
    assert Settings.from_environment({}).smtp_url == ""
    with pytest.raises(InvalidInput) as caught:
        Settings.from_environment({"EVBILL_SMTP_URL": "mail.example.org", "EVBILL_MAIL_FROM": "nobody"})
    assert [problem.path for problem in caught.value.problems] == ["EVBILL_SMTP_URL", "EVBILL_MAIL_FROM"]


def test_the_gateway_is_the_sandbox_by_default_and_stripe_with_its_settings():
    assert Settings.from_environment({}).payment_gateway == "sandbox"
    stripe = Settings.from_environment(
        {
            "EVBILL_PAYMENT_GATEWAY": "stripe",
            "EVBILL_STRIPE_SECRET_KEY": "sk_test_abc",
            "EVBILL_STRIPE_WEBHOOK_SECRET": "whsec_abc",
            "EVBILL_STRIPE_API_BASE": "http://127.0.0.1:8420",
        }
    )
    assert (stripe.payment_gateway, stripe.stripe_api_base) == ("stripe", "http://127.0.0.1:8420")
    # the secrets are not in the settings' repr (logs, tracebacks)
    assert "sk_test_abc" not in repr(stripe)
    assert "whsec_abc" not in repr(stripe)


def test_stripe_without_its_secrets_is_refused_naming_each_and_a_bad_gateway_named():
    with pytest.raises(InvalidInput) as refused:
        Settings.from_environment({"EVBILL_PAYMENT_GATEWAY": "stripe", "EVBILL_STRIPE_API_BASE": "127.0.0.1"})
    with pytest.raises(InvalidInput) as unknown:
        Settings.from_environment({"EVBILL_PAYMENT_GATEWAY": "paypal"})

    assert [problem.path for problem in refused.value.problems] == [
        "EVBILL_STRIPE_SECRET_KEY",
        "EVBILL_STRIPE_WEBHOOK_SECRET",
        "EVBILL_STRIPE_API_BASE",
    ]
    assert [problem.path for problem in unknown.value.problems] == ["EVBILL_PAYMENT_GATEWAY"]
