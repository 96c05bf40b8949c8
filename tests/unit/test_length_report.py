"""The length table: one row per L, sorted, the baseline's columns only when it was tested."""

from app.length_report import length_rows, length_section, length_table

FIGURES = {
    "eval/trained_length": 10.0,
    "eval/L=1000/success_rate": 0.5, "eval/L=1000/cue_accuracy": 0.625,
    "eval/L=10/success_rate": 1.0, "eval/L=10/cue_accuracy": 1.0, "eval/L=10/episodes": 64.0,
    "impala/success_rate": 1.0,
}


def test_rows_are_sorted_by_length_and_hold_their_figures():
    rows = length_rows(FIGURES)
    assert [row["L"] for row in rows] == [10, 1000]
    assert rows[1] == {"L": 1000, "success_rate": 0.5, "cue_accuracy": 0.625}


def test_table_shows_only_columns_some_row_has():
    table = length_table(length_rows(FIGURES))
    assert table[0] == "| L | episodes | greedy success | cue accuracy (probe) |"
    assert table[2] == "| 10 | 64 | 1.000 | 1.000 |"
    assert table[3] == "| 1,000 | – | 0.500 | 0.625 |"


def test_section_draws_the_plot_and_is_empty_without_evaluations(tmp_path):
    lines = length_section(FIGURES, tmp_path)
    assert "## Length generalisation" in lines and (tmp_path / "length_generalisation.png").is_file()
    assert length_section({"impala/success_rate": 1.0}, tmp_path / "none") == []
