"""Your own logs: a CSV or Parquet table becomes the course's frames, and every problem
is named with its file instead of being repaired silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_tutorial import leave_one_out_split
from recsys_tutorial.datafiles import DataError
from recsys_tutorial.datasets import load_dataset
from recsys_tutorial.logs import load_log

GOOD = (
    "user,item,ts,stars,name\n"
    "10,1,100,5,\"Godfather, The (1972)\"\n"
    "10,2,200,3,\"\"\"Quoted\"\" title\"\n"
    "10,3,300,4,Café (1999)\n"
    "20,1,150,2,\"Godfather, The (1972)\"\n"
    "20,3,250,1,Café (1999)\n"
    "20,2,350,4,\"\"\"Quoted\"\" title\"\n"
)
OPTIONS = dict(user_col="user", item_col="item", time_col="ts")


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_log_becomes_the_course_frames(tmp_path):
    data = load_log(write(tmp_path, GOOD), rating_col="stars", title_col="name", **OPTIONS)
    assert list(data.interactions.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert data.interactions["timestamp"].dtype == np.int64
    assert data.interactions["rating"].tolist() == [5, 3, 4, 2, 1, 4]
    assert data.titles([1, 2, 3]).tolist() == ["Godfather, The (1972)", '"Quoted" title',
                                               "Café (1999)"]
    assert data.users.index.tolist() == [10, 20] and data.users.columns.empty
    split = leave_one_out_split(data.interactions)
    assert split.n_users == 2 and split.n_items == 3


def test_without_text_or_ratings_nothing_is_invented_silently(tmp_path):
    data = load_dataset(write(tmp_path, GOOD), **OPTIONS)
    assert data.interactions["rating"].isna().all()
    assert data.titles([2])[0] == "item 2" and data.items.attrs["has_text"] is False
    with pytest.raises(DataError, match="needs item titles and ratings, which the dataset"):
        load_dataset(write(tmp_path, GOOD), needs=("titles", "ratings"), **OPTIONS)
    with pytest.raises(DataError, match="user demographics"):
        load_dataset(write(tmp_path, GOOD), needs=("demographics",), **OPTIONS)


def test_item_text_and_genres_from_a_separate_file(tmp_path):
    items = write(tmp_path, "item,text,tags\n1,One,A|B\n2,\"Two, too\",\n3,Three,C\n9,Unused,D\n",
                  "items.csv")
    data = load_log(write(tmp_path, GOOD), items=items, title_col="text", genres_col="tags",
                    **OPTIONS)
    assert data.items["title"].tolist() == ["One", "Two, too", "Three"]
    assert data.items["genres"].tolist() == [["A", "B"], [], ["C"]]


def test_string_ids_need_an_explicit_encoding(tmp_path):
    text = GOOD.replace("10,", "ann,").replace("20,", "bob,")
    with pytest.raises(DataError, match="'user' holds ids that are not integers, e.g. 'ann'"):
        load_log(write(tmp_path, text), **OPTIONS)
    data = load_log(write(tmp_path, text), encode_ids=True, title_col="name", **OPTIONS)
    assert data.users["raw_id"].tolist() == ["ann", "bob"]
    assert data.items["raw_id"].tolist() == ["1", "2", "3"]
    assert data.titles([1])[0] == "Godfather, The (1972)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty: no header"),
        ("user,item,ts\n", "is empty: it has a header but no interactions"),
        ("user,item\n1,2\n", "lacks the column(s) 'ts'"),
        (GOOD.replace(",250,", ",,"), "1 row(s) have no timestamp (NaN or empty) in column "
                                      "'ts', at data row(s) 5"),
        (GOOD.replace(",250,", ",yesterday,"), "non-numeric timestamp, e.g. 'yesterday', at "
                                               "data row(s) 5"),
        (GOOD.replace("20,3,250", "20,1,150"), "1 duplicate row(s) (the same user, item and "
                                               "timestamp as an earlier row) at data row(s) 5"),
        (GOOD + "30,1,400,5,x\n30,2,500,5,y\n", "1 user(s) have fewer than 3 events, e.g. "
                                                "user 30 with 2"),
        (GOOD + ",1,400,5,x\n", "1 row(s) have no id in column 'user'"),
    ],
)
def test_each_problem_is_named_with_the_file(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        load_log(path, **OPTIONS)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_dropping_is_explicit(tmp_path):
    text = GOOD.replace("20,3,250", "20,1,150") + "30,1,400,5,x\n30,2,500,5,y\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError, match="duplicate"):
        load_log(path, drop_short_users=True, **OPTIONS)
    with pytest.raises(DataError, match="fewer than 3"):
        load_log(path, drop_duplicates=True, **OPTIONS)
    data = load_log(path, drop_duplicates=True, drop_short_users=True, **OPTIONS)
    assert data.interactions["user_id"].tolist() == [10, 10, 10]  # user 20 fell to 2 events


def test_unknown_dataset_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="Unknown dataset 'ml-2k'"):
        load_dataset("ml-2k")
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "absent.csv")


def test_parquet_reads_like_csv(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.read_csv(write(tmp_path, GOOD))
    frame.to_parquet(tmp_path / "log.parquet")
    from_parquet = load_log(tmp_path / "log.parquet", rating_col="stars", **OPTIONS)
    from_csv = load_log(tmp_path / "log.csv", rating_col="stars", **OPTIONS)
    pd.testing.assert_frame_equal(from_parquet.interactions, from_csv.interactions)


def test_bench_runs_on_a_log(tmp_path, capsys):
    import json

    from recsys_tutorial import make_platform
    from recsys_tutorial.bench import main

    log = make_platform(n_users=40, n_items=30, n_topics=3, seed=2).interactions
    log[["user_id", "item_id", "timestamp"]].to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "rows.json"
    assert main(["bench", "--dataset", str(tmp_path / "log.csv"), "--models", "pop,markov",
                 "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["model"] for r in rows] == ["pop", "markov"]
    assert "split fingerprint" in capsys.readouterr().out
