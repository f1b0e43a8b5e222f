"""The fast path for plain status answers makes exactly what full validation makes."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.panel.models import OrderStatus, plain_order_status

FIELDS = ("status", "charge", "start_count", "remains", "currency")

# Values near the fast path's edges: plain ones, and ones that must fall back.
values = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "In progress",
            "Completed",
            "none",
            "NULL",
            "-",
            "",
            " 5",
            "0100",
            "1e5",
            "USD",
            "usdt",
            "Pending ",
            "0.09",
            "٣",
            "9" * 19,
            "1." + "0" * 13,
            "N/A",
            "Partial",
        ]
    ),
    st.from_regex(r"[0-9]{1,20}(\.[0-9]{1,14})?", fullmatch=True),
    st.from_regex(r"[A-Za-z _-]{0,8}", fullmatch=True),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.text(max_size=6),
)
answers = st.dictionaries(st.sampled_from([*FIELDS, "error", "extra"]), values, max_size=6)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(answers)
def test_the_fast_path_agrees_with_full_validation(answer: dict[str, Any]) -> None:
    plain = plain_order_status(answer)
    if plain is None:
        return  # validated in full, as before
    full = OrderStatus.model_validate(answer)
    assert plain.model_dump() == full.model_dump()
    assert plain == full
    assert plain.model_fields_set == full.model_fields_set


def test_the_simulators_shape_takes_the_fast_path() -> None:
    answer = {
        "charge": "0.09",
        "start_count": "1000",
        "status": "In progress",
        "remains": "100",
        "currency": "USD",
    }
    assert plain_order_status(answer) == OrderStatus.model_validate(answer)
    assert plain_order_status(answer) is not None
