"""The record type's header-comment parsers (`ecgmask.data.record`)."""

from ecgmask.data.record import parse_comments


def test_parse_comments_both_forms():
    a = parse_comments(["Age: 63", "Sex: Male", "Dx: 426783006,164865005"])
    b = parse_comments(["# age: 63", "# sex: male", "# dx: 426783006, 164865005"])
    assert a == b == {"age": 63.0, "sex": "M", "dx": ("426783006", "164865005")}
    assert parse_comments(["Sex: Female", "Age: NaN"]) == {"age": None, "sex": "F", "dx": ()}
    assert parse_comments(["Sex: Unknown", "Age: Unknown", "Dx: "]) == {"age": None, "sex": None, "dx": ()}
    assert parse_comments([]) == {"age": None, "sex": None, "dx": ()}
