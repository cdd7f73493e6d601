"""The system's ids: UUIDv7 text that sorts by creation and never repeats."""

from __future__ import annotations

import uuid

from evbill.adapters.system import Uuid7Generator


def test_ids_are_uuid7_text_in_the_order_they_were_made_and_never_repeat():
    # given 10,000 ids from one generator: many within one millisecond, many 4 KiB random refills
    ids = Uuid7Generator()

    made = [ids.new_id() for _ in range(10_000)]

    # then each is the canonical text of a version 7, RFC 9562 variant UUID
    parsed = [uuid.UUID(text) for text in made]
    assert [str(value) for value in parsed] == made
    assert {value.version for value in parsed} == {7}
    assert {value.variant for value in parsed} == {uuid.RFC_4122}
    # and they sort as made, all different
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_two_generators_do_not_hand_out_the_same_random_bits():
    first, second = Uuid7Generator(), Uuid7Generator()

    tails = {
        text[24:] for text in [first.new_id() for _ in range(500)] + [second.new_id() for _ in range(500)]
    }

    assert len(tails) == 1000
