"""The fast path for plain status answers makes exactly what full validation makes."""

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.panel.models import plain_order_status, validated_order_status

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
    st.integers(min_value=0, max_value=10**19),
    st.floats(),
    # JSON numbers as the client reads them: fractions as Decimal (parse_float=Decimal).
    st.decimals(),
    st.decimals(places=4, min_value=-10, max_value=10**6),
    st.builds(Decimal, st.sampled_from(["0E+5", "1E+2", "1E+17", "1E+18", "1E-12", "1E-13"])),
    st.booleans(),
    st.text(max_size=6),
)
answers = st.dictionaries(st.sampled_from([*FIELDS, "error", "extra"]), values, max_size=6)


@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
@given(answers)
def test_the_fast_path_agrees_with_full_validation(answer: dict[str, Any]) -> None:
    plain = plain_order_status(answer)
    if plain is None:
        return  # validated in full, as before
    assert plain == validated_order_status(answer)


def test_the_simulators_shape_takes_the_fast_path() -> None:
    answer = {
        "charge": "0.09",
        "start_count": "1000",
        "status": "In progress",
        "remains": "100",
        "currency": "USD",
    }
    assert plain_order_status(answer) == validated_order_status(answer)
    assert plain_order_status(answer) is not None


def test_json_numbers_take_the_fast_path_too() -> None:
    # The panel simulator, and panels that write numbers unquoted, as the client reads them.
    answer = {
        "charge": Decimal("0.09"),
        "start_count": 1000,
        "status": "In progress",
        "remains": 100,
        "currency": "USD",
    }
    assert plain_order_status(answer) is not None
    assert plain_order_status(answer) == validated_order_status(answer)
