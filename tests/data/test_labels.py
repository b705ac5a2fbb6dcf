from ecgmask.data.labels import CSV_RHYTHM, SNOMED_TO_RHYTHM, rhythm_from_csv, rhythm_from_snomed


def test_snomed_mapping_as_method_md_lists_it():
    want = {
        "AFIB": {"164889003", "164890007"},
        "GSVT": {"426761007", "427084000", "713422000", "251166008", "233897008", "17366009"},
        "SB": {"426177001"},
        "SR": {"426783006", "427393009"},
    }
    got = {c: {k for k, v in SNOMED_TO_RHYTHM.items() if v == c} for c in want}
    assert got == want
    gsvt = {code for code, (cls, _) in CSV_RHYTHM.items() if cls == "GSVT"}
    assert gsvt == {"SVT", "ST", "AT", "AVNRT", "AVRT", "SAAWR"}
    assert {code for code, (cls, _) in CSV_RHYTHM.items() if cls == "SR"} == {"SR", "SI", "SA"}


def test_rhythm_from_snomed_cases():
    assert rhythm_from_snomed(["426783006", "164934002"]) == ("SR", None)  # extra non-rhythm code
    assert rhythm_from_snomed(["427084000", "713422000"]) == ("GSVT", None)
    rhythm, reason = rhythm_from_snomed(["164934002"])
    assert rhythm is None and reason == "rhythm outside AFIB/GSVT/SB/SR: Dx 164934002"
    rhythm, reason = rhythm_from_snomed(["426177001", "164889003"])
    assert rhythm is None and reason.startswith("conflicting rhythm labels: AFIB/SB")
    assert rhythm_from_snomed([])[1] == "rhythm outside AFIB/GSVT/SB/SR: Dx none"


def test_rhythm_from_csv():
    assert rhythm_from_csv("afib") == ("AFIB", None, "164889003")
    assert rhythm_from_csv("SAAWR")[0] == "GSVT"
    assert rhythm_from_csv("AVB")[:2] == (None, "rhythm outside AFIB/GSVT/SB/SR: 'AVB'")
    assert rhythm_from_csv(float("nan"))[0] is None

