"""The 12 leads: picking them by name, completing an 8-lead record (`ecgmask.data.leads`)."""

import numpy as np
import pytest

from ecgmask.data.leads import DERIVED_LEADS, LEADS, complete_leads, plan_leads, select_leads
from ecgmask.data.record import RecordError


def test_select_leads_by_name_case_insensitive_in_standard_order():
    names = ["vx", "v6", "V5", "v4", "v3", "v2", "V1", "AVF", "avl", "aVR", "iii", "II", "i", "vy"]
    idx = select_leads(names)
    assert [names[i].lower() for i in idx] == [lead.lower() for lead in LEADS]


def test_select_leads_names_missing_leads():
    with pytest.raises(RecordError, match=r"fewer than 12 leads: has II, V, PLETH; missing I, III, aVR"):
        select_leads(["II", "V", "PLETH"])


def test_plan_leads_all_twelve_or_the_eight_independent_ones():
    names = list(reversed(LEADS)) + ["PLETH"]
    assert plan_leads(names) == ([names.index(lead) for lead in LEADS], False)
    eight = ["V6", "v5", "V4", "V3", "V2", "V1", "ii", "I", "III"]  # III alone does not count
    assert plan_leads(eight) == ([eight.index(n) for n in ["I", "ii", "V1", "V2", "V3", "V4", "v5", "V6"]], True)


def test_plan_leads_names_the_missing_independent_leads():
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V4", "V5"]
    with pytest.raises(RecordError, match=r"^fewer than 12 leads: has I, II, III, aVR, aVL, aVF, V1, V2, V4, V5; "
                                          r"missing V3, V6; independent leads missing: V3, V6 \(only III, aVR, "
                                          r"aVL, aVF can be derived\)$"):  # fmt: skip
        plan_leads(names)


def test_complete_leads_obeys_the_limb_identities():
    x = np.random.default_rng(0).normal(0, 1, (8, 100)).astype(np.float32)
    full = complete_leads(x)
    assert full.shape == (12, 100) and full.dtype == np.float32
    named = dict(zip(LEADS, full.astype(np.float64)))
    np.testing.assert_array_equal(full[[0, 1, 6, 7, 8, 9, 10, 11]], x)
    lead_i, lead_ii = named["I"], named["II"]
    for name, want in zip(DERIVED_LEADS, [lead_ii - lead_i, -(lead_i + lead_ii) / 2,
                                          lead_i - lead_ii / 2, lead_ii - lead_i / 2]):  # fmt: skip
        np.testing.assert_allclose(named[name], want, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="needs the 8 leads"):
        complete_leads(x[:7])
