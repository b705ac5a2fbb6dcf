"""The masker space: the objective ablations as rows, each a valid PretrainConfig."""

import search_spaces
from ecgmask.pretrain import PretrainConfig
from search_spaces.plan import pretrain_fields


def test_masker_rows_and_their_settings():
    plan = search_spaces.get_space("masker").plan("laptop", seeds=(1,))
    by_row = {t["row"]: t["pretrain"] for t in plan.pretrain}
    assert list(by_row) == ["advmask", "advmask(sparsity_only)", "advmask(binarised)", "advmask(30 epochs)", "3kg"]
    assert by_row["advmask(sparsity_only)"]["masker_objective"] == "sparsity_only"
    assert by_row["advmask(binarised)"]["sparsity_on"] == "binarised"
    fixed = by_row["advmask(30 epochs)"]
    assert fixed["epochs"] == 30 and fixed["patience"] >= fixed["epochs"]  # early stopping never fires
    assert {t["row"] for t in plan.probe} == {*by_row, "random"}
    for trial in plan.pretrain:  # every row builds a valid config
        PretrainConfig.from_profile("laptop", **pretrain_fields(trial, PretrainConfig))
