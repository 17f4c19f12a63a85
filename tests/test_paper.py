"""The paper's reference numbers: one place, consistent across tables."""

from qa_helpers.series import paper


def test_tables_agree_where_they_repeat_a_row():
    base, tuned = paper.MEAN["Table 2"]["Q-Anchor (Base)"], paper.MEAN["Table 2"]["Q-Anchor (Prompt Tuned)"]
    assert paper.MEAN["Table 3"]["Q-Anchor (Base)"] == base
    assert paper.MEAN["Table 3"]["Q-Anchor (Prompt Tuned)"] == tuned == paper.MEAN["Table 9"][6]
    assert paper.MEAN["Table 10"][500] == tuned
    assert (
        paper.MEAN_KS["Table 9"][6]
        == paper.MEAN_KS["Table 10"][500]
        == paper.MEAN_KS["Table 5"]["Q-Anchor (Prompt Tuned)"]
    )
