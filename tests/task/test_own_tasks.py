"""Tasks a user brings: any direction (zh→en, en→zh, zh→zh, en→en), Traditional targets,
validated languages, judge prompts and rubrics from the task, item files in several
formats, `harness tasks check`. Every expected figure is worked out by hand in a comment."""

from types import SimpleNamespace

import pytest

from harness.score._checks import Numbers, Script
from harness.score import script_of
from harness.score._numbers import numbers_en, numbers_zh, parse_cn_numeral


def item(source="", refs=("",)):
    return SimpleNamespace(source=source, references=list(refs), key_facts=[])


def recall(src_lang, tgt_lang, source, output):
    n = Numbers(src_lang, tgt_lang)
    return n.score(n.stats([output], [item(source)]))["number_recall"]


# --- numbers: readers ------------------------------------------------------------------

def test_english_reader():
    assert numbers_en("3.2 million, 70 billion, 1.5bn, 45,000, $3m, 600B") == [3.2e6, 7e10, 1.5e9, 45000, 3e6, 600e9]
    assert numbers_en("ten offices in the third quarter; twenty-three engineers") == [10, 3, 23]
    assert numbers_en("two hundred and five thousand people, a million users") == [205000, 1e6]
    # ambiguous words are not source numbers; read generously on the output side
    assert numbers_en("no one came first, wait a second") == []
    assert numbers_en("no one came first, wait a second", strict=False) == [1, 1, 2]
    assert numbers_en("one-third of them") == [pytest.approx(1 / 3)]  # a fraction (三分之一), not 1 + 3
    assert numbers_en("$50–60 billion") == [5e10, 6e10]  # the scale belongs to both ends


def test_chinese_reader():
    assert parse_cn_numeral("两千三百万") == 23_000_000
    assert parse_cn_numeral("一百零五") == 105
    assert parse_cn_numeral("三亿五千万") == 350_000_000
    assert parse_cn_numeral("十万亿") == 1e13
    assert parse_cn_numeral("二〇二四") == 2024
    assert parse_cn_numeral("五四") is None
    assert numbers_zh("两千三百万人,百分之五十,三成,第3季度,第三季度") == [2.3e7, 50, 30, 3, 3]
    assert numbers_zh("３２０万") == [3.2e6]  # full-width digits
    assert numbers_zh("500‑600 億美元,30B 参数") == [5e10, 6e10, 3e10]
    # words that only look like numbers are not source numbers
    assert numbers_zh("万一他千万不要一成不变,几十万,一些,第二天") == []
    # the output side reads every numeral (三个 = 3), still not 几十万
    assert numbers_zh("三个公司,几十万", strict=False) == [3]
    assert numbers_zh("1,2,3") == [1, 2, 3]  # a list, not 123


# --- numbers: the direction matrix -----------------------------------------------------
# Each row: source, a perfect output, and a copy of the source in the other language.

ZH_SOURCE = "公司去年收入3.2万亿元,员工两千三百万人,其中百分之五十是女性,三成在海外,第3季度增长了十五个百分点。"
EN_OF_ZH = ("Last year the company's revenue was 3.2 trillion yuan; it has 23 million employees, fifty percent "
            "of them women and 30% abroad; in the third quarter it grew by fifteen percentage points.")
EN_SOURCE = ("Revenue reached 3.2 million dollars, the fund raised 70 billion, a 1.5bn deal, 45,000 staff, "
             "ten offices, in the third quarter.")
ZH_OF_EN = "收入达到320万美元,基金募集了700亿,一笔15亿的交易,4.5万名员工,十个办事处,在第三季度。"


def test_zh_to_en():
    # source: 3.2e12, 2.3e7, 50, 30, 3, 15 (six numbers)
    assert numbers_zh(ZH_SOURCE) == [3.2e12, 2.3e7, 50, 30, 3, 15]
    assert recall("zh", "en", ZH_SOURCE, EN_OF_ZH) == 100.0
    # the Chinese copy read as English: 3.2 (not 3.2e12) and the 3 of 第3: 1 of 6
    assert recall("zh", "en", ZH_SOURCE, ZH_SOURCE) == pytest.approx(100 / 6)


def test_en_to_zh():
    # source: 3.2e6, 7e10, 1.5e9, 45000, 10, 3
    assert numbers_en(EN_SOURCE) == [3.2e6, 7e10, 1.5e9, 45000, 10, 3]
    assert recall("en", "zh", EN_SOURCE, ZH_OF_EN) == 100.0
    # the English copy read as Chinese: 3.2, 70, 1.5, 45000 — only 45,000 keeps its value
    assert recall("en", "zh", EN_SOURCE, EN_SOURCE) == pytest.approx(100 / 6)


def test_zh_to_zh_summary():
    source = "平台的两千三百万用户中三成来自海外,去年营收增长了百分之十二。"
    summary = "2300万用户,30%来自海外,营收增长12%。"
    assert recall("zh", "zh", source, summary) == 100.0
    # an English summary read as Chinese: 23 (not 2.3e7), 30, 12: 2 of 3
    assert recall("zh", "zh", source, "23 million users, 30% abroad, revenue up 12%.") == pytest.approx(200 / 3)


def test_en_to_en_summary():
    source = "The firm hired twenty-three engineers and raised $1.5bn in its second round (45,000 applicants)."
    # "second" is not counted on the source side: 23, 1.5e9, 45000
    assert numbers_en(source) == [23, 1.5e9, 45000]
    assert recall("en", "en", source, "It hired 23 engineers and raised 1.5 billion dollars; 45 thousand applied.") \
        == 100.0
    chinese = "该公司聘请了二十三名工程师,在第二轮融资中筹集了15亿美元(4.5万名申请者)。"
    # read as English: 15 and 4.5, neither a source value
    assert recall("en", "en", source, chinese) == 0.0


# --- numbers: red-team pairs (each a perfect translation both ways, and a copy) ----------
# Values by hand: half a million = 500,000 = 五十万; a quarter of a million = 250,000 = 二十五万;
# a third = 1/3 = 三分之一 (分母 first), two thirds = 2/3 = 三分之二; 3만 2천 = 30,000 + 2,000.

PAIRS = [
    ("Half a million people visited the fair.", "五十万人参观了博览会。", [5e5]),
    ("A quarter of a million cards and half a billion dollars.", "二十五万张卡和五亿美元。", [2.5e5, 5e8]),
    ("A third of the budget went to two thirds of the schools.", "三分之一的预算用于三分之二的学校。",
     [pytest.approx(1 / 3), pytest.approx(2 / 3)]),
    ("Ten companies opened three factories.", "十家公司开了三个工厂。", [10, 3]),
]


@pytest.mark.parametrize("en, zh, values", PAIRS)
def test_red_team_pairs_score_100_both_ways_and_copies_do_not(en, zh, values):
    assert numbers_en(en) == values
    assert numbers_zh(zh) == values
    assert recall("en", "zh", en, zh) == 100.0
    assert recall("zh", "en", zh, en) == 100.0
    # a copy of the source in the other language: English read as Chinese and Chinese read as
    # English keep none of these values (no digits, and the other language's words)
    assert recall("en", "zh", en, en) == 0.0
    assert recall("zh", "en", zh, zh) == 0.0


def test_fractions_are_values_not_ordinals():
    # "a" + ordinal is a fraction only before "of": "a third party" (第三方) is no source number
    assert numbers_en("a third party, the third quarter, three-fifths") == [3, pytest.approx(0.6)]
    # "quarter(s)" only before "of": "in three quarters" is 三个季度 (3), and "twenty-third" is 23rd
    assert numbers_en("in three quarters, three quarters of staff, the twenty-third day") == [3, 0.75, 23]
    # the output side reads "a quarter" as 1/4 too: 降低到四分之一 ↔ "cut to a quarter"
    assert recall("zh", "en", "错误率降低到四分之一。", "Error rates fall to a quarter.") == 100.0
    assert numbers_zh("百分之五十,十分之一") == [50, pytest.approx(0.1)]  # 百分之 stays a percent


def test_korean_numbers_written_in_parts():
    from harness.score._numbers import numbers_ko

    assert numbers_ko("관객 3만 2천 명") == [32000]
    assert numbers_ko("3억 2천만 원, 3만2천, 3만 5000명, 1조 2000억") == [3.2e8, 32000, 35000, 1.2e12]
    assert numbers_ko("2024년 3월, 2천만") == [2024, 3, 2e7]  # no 만/억/조 before 3: two numbers
    assert recall("ko", "en", "관객 3만 2천 명", "32,000 spectators") == 100.0
    assert recall("en", "ko", "32,000 spectators", "관객 3만 2천 명") == 100.0
    assert recall("ko", "en", "관객 3만 2천 명", "관객 3만 2천 명") == 0.0  # read as English: 3 and 2


def test_chinese_single_numerals_before_a_measure_word():
    # 十家 and 三个 count on the source side, as "ten" and "three" do in English; lone 一 / 两 / 二
    # do not (一家 is also "a family", 二级市场 the secondary market), nor 十分 (= "very") or 十几家
    assert numbers_zh("十家公司,三个工厂") == [10, 3]
    assert numbers_zh("一家人,两家,二级市场,十分重要,十几家,十多家") == []
    # 十年 is as often "a decade": the output side reads "decade" as 10
    assert recall("zh", "en", "智能体十年", "the decade of agents") == 100.0


def test_the_signature_names_both_readers():
    sig = Numbers("en", "zh").signature()
    assert sig.startswith("numbers|src:en:en:") and "|out:zh:cjk:" in sig


# --- script -----------------------------------------------------------------------------

def share(target, text):
    s = Script(target)
    return s.score(s.stats([text], [item()]))["wrong_script_share"]


def test_script_follows_target_script_and_region_codes():
    assert [script_of(x) for x in ("traditional", "zh-TW", "zh-HK", "zh-Hant")] == ["traditional"] * 4
    assert [script_of(x) for x in ("simplified", "zh-CN", "zh-Hans", "zh")] == ["simplified"] * 4
    # Traditional asked: 这 个 软 are Simplified-only, 件 is both (4 characters)
    assert share("zh-TW", "这个软件") == 75.0
    assert share("traditional", "這個軟體") == 0.0
    # 台 and 里 (in 公里) are right in Traditional text, read in context
    assert share("traditional", "台灣的公里") == 0.0
    # Simplified asked: the opposite
    assert share("simplified", "這個軟體") == 100.0
    assert share("simplified", "这个软件") == 0.0


def test_copying_a_traditional_source_wins_on_a_traditional_target():
    trad, simp = "這個軟體很好用,我們公司都在用。", "这个软件很好用,我们公司都在用。"
    assert share("traditional", trad) < share("traditional", simp)
    assert share("simplified", simp) < share("simplified", trad)


def test_lexical_metrics_match_across_scripts_and_only_the_script_check_tells_them_apart():
    """The decision: chrF/BLEU/ROUGE compare both sides in Simplified (a Traditional output is
    not a worse match for being Traditional); the script check is what rewards the script."""
    from harness.score._lexical import Chrf

    ref, trad, simp = "這個軟體很好用。", "這個軟體很好用。", "这个软件很好用。"
    chrf = Chrf("zh")
    it = item(refs=[ref])
    assert chrf.score(chrf.stats([trad], [it]))["chrf"] == chrf.score(chrf.stats([simp], [it]))["chrf"]
    assert share("traditional", trad) == 0.0 and share("traditional", simp) > 0


def test_wrong_script_share_ranks_lower_first():
    from harness.score import registry

    assert registry.lower_is_better("wrong_script_share")
    import pandas as pd

    import harness.results._pairwise as comparisons

    board = pd.DataFrame([{"task": "t", "condition": "all", "model": m, "metric": "wrong_script_share", "value": v,
                           "n": 10, "n_errors": 0, "item_set": "10:abc", "signature": "x"}
                          for m, v in (("a", 0.1), ("b", 5.0))])
    pw = pd.DataFrame([{"task": "t", "condition": "all", "metric": "wrong_script_share", "model_a": "a",
                        "model_b": "b", "diff": -4.9, "p_value": 0.001, "blocks": 20}])
    wide = comparisons.rank_table(board, pw).set_index("model")
    assert wide.loc["a", "rank_wrong_script_share"] == "1" and wide.loc["b", "rank_wrong_script_share"] == "2"


# --- languages ----------------------------------------------------------------------------

import yaml  # noqa: E402

from conftest import cli  # noqa: E402  (in-process: these tests are about what the CLI says)
from harness.core._errors import UserError  # noqa: E402
from harness.task._spec import KNOWN_LANGS, TEMPLATE_VARIABLES, load_task  # noqa: E402
from helpers import make_task, simple_items  # noqa: E402


def _task(tmp_path, **extra):
    items, refs = simple_items(4)
    return make_task(tmp_path / "t", items, refs, extra=extra)


def _line_of(path, key):
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.startswith(key + ":"))


@pytest.mark.parametrize("key", ["target_lang", "source_lang"])
def test_an_unknown_language_is_one_line_with_its_line_and_the_known_codes(tmp_path, key):
    path = _task(tmp_path, **{key: "cn"})
    with pytest.raises(UserError) as exc:
        load_task(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:{_line_of(path, key)}: {key}: unknown language 'cn'")
    assert all(code in msg for code in KNOWN_LANGS)


def test_an_unknown_language_exits_2_before_any_call(tmp_path, results):
    path = _task(tmp_path, target_lang="cn")
    out = cli("eval", "--model", "baseline/copy", "--task", str(path))
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1
    assert lines[0].startswith(f"error: {path}:{_line_of(path, 'target_lang')}: target_lang: unknown language 'cn'")
    assert not (results / "leaderboard.csv").exists()


def test_script_keys_are_checked(tmp_path):
    path = _task(tmp_path, target_lang="zh-TW", target_script="simplified")
    with pytest.raises(UserError, match=r"target_script: simplified contradicts target_lang zh-TW"):
        load_task(path)
    path = _task(tmp_path, target_script="cursive")
    with pytest.raises(UserError, match=r"unknown script 'cursive'"):
        load_task(path)
    path = _task(tmp_path, target_lang="en", metrics=["chrf", "script"])
    with pytest.raises(UserError, match=r"metrics: metric 'script' needs a Chinese target_lang"):
        load_task(path)


def test_region_codes_imply_the_script(tmp_path):
    from harness.score import registry

    for lang, script in (("zh-TW", "traditional"), ("zh-HK", "traditional"), ("zh-CN", "simplified"),
                         ("zh-Hant", "traditional"), ("zh", "simplified")):
        task = load_task(_task(tmp_path / lang, target_lang=lang, metrics=["chrf", "script"]), via_datasets=False)
        assert task.spec.script == script
        assert registry.make("script", task).target == script
    task = load_task(_task(tmp_path / "x", target_lang="zh", target_script="zh-HK"), via_datasets=False)
    assert task.spec.target_script == "traditional"


def test_bleu_tokenizer_per_target_is_in_the_signature():
    from sacrebleu.metrics import BLEU

    from harness.score._lexical import Bleu, _mecab_available

    assert "tok:zh" in Bleu("zh-TW").signature() and "tok:13a" in Bleu("en").signature()
    ja = "ja-mecab" if _mecab_available("ja") else "char"
    assert f"tok:{ja}" in Bleu("ja").signature()
    # the score is sacrebleu's own with that tokenizer
    hyp, ref = "東京の天気は良いです。", "東京の天気はとても良いです。"
    ours = Bleu("ja")
    it = item(refs=[ref])
    assert ours.score(ours.stats([hyp], [it]))["bleu"] == pytest.approx(
        BLEU(tokenize=ja).corpus_score([hyp], [[ref]]).score)


# --- judge prompts and rubrics from the task ----------------------------------------------

def _en_zh_task(tmp_path, kind="translate", **extra):
    items = [{"id": f"i{k}", "source": f"Sentence {k} says revenue grew 3.2 million dollars.",
              "meta": {"block": f"b{k % 2}"}} for k in range(4)]
    refs = [{"id": f"i{k}", "references": [f"第{k}句说收入增长了320万美元。"]} for k in range(4)]
    return make_task(tmp_path / "enzh", items, refs, task_id="enzh", kind=kind, target_lang="zh",
                     extra={"source_lang": "en", **extra})


@pytest.mark.parametrize("kind, phrase", [("translate", "translations from English to Chinese"),
                                          ("summarize", "summaries of English texts written in Chinese")])
def test_judge_prompts_name_the_tasks_languages(tmp_path, kind, phrase):
    from harness.judge._prompts import load_rubric, pairwise_request, pointwise_request

    task = load_task(_en_zh_task(tmp_path, kind=kind), via_datasets=False)
    rubric = load_rubric(task)
    it = task.items[0]
    for req in (pointwise_request("baseline/copy", rubric, it, "输出", "t"),
                pairwise_request("baseline/copy", rubric, it, "甲", "乙", "t")):
        text = req.messages[0]["content"]
        assert phrase in text and "Chinese to English" not in text
        assert it.source in text


def test_a_traditional_target_is_named_in_the_judge_prompt(tmp_path):
    from harness.judge._prompts import load_rubric, pointwise_request

    task = load_task(_en_zh_task(tmp_path, target_lang="zh-TW"), via_datasets=False)
    text = pointwise_request("baseline/copy", load_rubric(task), task.items[0], "x", "t").messages[0]["content"]
    assert "translations from English to Chinese (Traditional, Taiwan)" in text


def test_the_shipped_zh_en_translation_prompt_is_unchanged():
    """zh→en tasks render the same judge prompt as before (their cached judge answers stay valid)."""
    from harness.judge._prompts import load_rubric, pointwise_request
    from harness.task._spec import load_tasks

    task = load_tasks(["translate_zh_en"], via_datasets=False)[0]
    text = pointwise_request("baseline/copy", load_rubric(task), task.items[0], "x", "t").messages[0]["content"]
    assert text.startswith("You are an expert evaluator of translations from Chinese to English. Judge the candidate")


MY_RUBRIC = """id: my_rubric
mode: scores
dimensions:
  adequacy:
    question: Does the Chinese output say what the English source says?
    anchors:
      5: everything
      4: almost everything
      3: half
      2: little
      1: nothing
"""


def test_a_task_names_its_own_rubric_relative_to_the_task_file(tmp_path):
    from harness.judge._prompts import load_rubric

    path = _en_zh_task(tmp_path, rubric="rubrics/my_rubric.yaml")
    (path.parent / "rubrics").mkdir()
    (path.parent / "rubrics" / "my_rubric.yaml").write_text(MY_RUBRIC, encoding="utf-8")
    task = load_task(path, via_datasets=False)
    rubric = load_rubric(task)
    assert rubric.id == "my_rubric" and rubric.names == ["adequacy", "overall"]
    assert rubric.source_language == "English" and rubric.target_language == "Chinese"


@pytest.mark.parametrize("broken, expected", [
    (MY_RUBRIC.replace("      5: everything", "      five: everything"),
     r"my_rubric.yaml:6: dimension 'adequacy' needs anchors with the keys 1, 2, 3, 4 and 5 \(not 'five'\)"),
    (MY_RUBRIC.replace("    question: Does the Chinese output say what the English source says?\n", ""),
     r"my_rubric.yaml:4: dimension 'adequacy' needs a question:"),
    (MY_RUBRIC.replace("mode: scores", "mode: stars"), r"my_rubric.yaml:2: mode must be scores or errors"),
    ("id: x\nmode: [scores\n", r"my_rubric.yaml:\d+: malformed YAML"),
])
def test_a_broken_rubric_is_one_line_when_the_task_loads(tmp_path, broken, expected):
    path = _en_zh_task(tmp_path, rubric="rubrics/my_rubric.yaml")
    (path.parent / "rubrics").mkdir()
    (path.parent / "rubrics" / "my_rubric.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(UserError, match=expected):
        load_task(path, via_datasets=False)


def test_a_broken_rubric_exits_2_before_any_model_is_asked(tmp_path, results):
    path = _en_zh_task(tmp_path, rubric="rubrics/my_rubric.yaml")
    (path.parent / "rubrics").mkdir()
    (path.parent / "rubrics" / "my_rubric.yaml").write_text(MY_RUBRIC.replace("5: everything", "five: everything"))
    out = cli("eval", "--model", "baseline/copy", "--task", str(path), "--judge", "baseline/copy")
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1 and "needs anchors" in lines[0], out.stderr
    assert not (results / "runs").exists()  # nothing was asked, nothing written


def test_a_missing_rubric_file_names_the_task_line(tmp_path):
    path = _en_zh_task(tmp_path, rubric="rubrics/nope.yaml")
    with pytest.raises(UserError, match=rf"{path}:\d+: rubric: .*nope.yaml not found"):
        load_task(path, via_datasets=False)


# --- item sources ---------------------------------------------------------------------------

ROWS = [{"id": f"i{k}", "source": f"第{k}句话,收入增长了3.2万美元。", "meta": {"condition": f"c{k % 2}",
                                                                      "block": f"b{k % 2}"}} for k in range(4)]


def _task_with_items(tmp_path, items_key, **extra):
    """A task whose items key is `items_key`; the JSONL file make_task writes is replaced."""
    refs = [{"id": r["id"], "references": [f"Sentence {k}: revenue grew by 32,000 dollars."]}
            for k, r in enumerate(ROWS)]
    path = make_task(tmp_path / "t", ROWS, refs, extra={"items": items_key, **extra})
    (path.parent / "items.jsonl").unlink()
    return path


def _same_items(path):
    task = load_task(path)
    assert [(i.id, i.source, i.meta) for i in task.items] == [(r["id"], r["source"], r["meta"]) for r in ROWS]
    assert task.items[0].references == ["Sentence 0: revenue grew by 32,000 dollars."]
    return task


@pytest.mark.parametrize("sep, suffix", [(",", "csv"), ("\t", "tsv")])
def test_csv_and_tsv_items(tmp_path, sep, suffix):
    import csv

    path = _task_with_items(tmp_path, f"data/items.{suffix}")
    (path.parent / "data").mkdir()
    with open(path.parent / "data" / f"items.{suffix}", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=sep)
        w.writerow(["id", "source", "meta.condition", "meta.block"])
        for r in ROWS:
            w.writerow([r["id"], r["source"], r["meta"]["condition"], r["meta"]["block"]])
    task = _same_items(path)
    assert len(task.items) == len(ROWS) and task.items[-1].condition == ROWS[-1]["meta"]["condition"]


def test_csv_errors_name_the_line(tmp_path):
    path = _task_with_items(tmp_path, "items.csv")
    csv_path = path.parent / "items.csv"
    csv_path.write_text("id,text\ni0,x\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"items.csv:1: the header needs the columns id and source"):
        load_task(path)
    csv_path.write_text("id,source\ni0,第一句\ni1,\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"items.csv:3: item i1: empty or missing 'source'"):
        load_task(path)


def test_a_csv_row_with_too_few_cells_is_one_line_naming_the_line_and_exits_2(tmp_path):
    path = _task_with_items(tmp_path, "items.csv")
    csv_path = path.parent / "items.csv"
    csv_path.write_text('id,source,meta.condition,meta.block\ni0,第一句,c0,b0\ni1,"第二句"\n', encoding="utf-8")
    with pytest.raises(UserError) as exc:
        load_task(path)
    assert str(exc.value) == (f"{csv_path}:3: 2 cells for 4 header columns (missing: meta.condition, meta.block); "
                              "add the missing cells, empty ones if unknown")
    out = cli("tasks", "check", env={"HARNESS_TASKS": str(path.parent)})
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2 and errors == [f"error: {exc.value}"], out.stderr


def test_parquet_items(tmp_path):
    import pandas as pd

    path = _task_with_items(tmp_path, "items.parquet")
    pd.DataFrame(ROWS).to_parquet(path.parent / "items.parquet")
    task = _same_items(path)
    assert [it.id for it in task.items] == [r["id"] for r in ROWS]


def test_save_to_disk_folder_needs_a_split_when_it_has_several(tmp_path):
    import datasets

    path = _task_with_items(tmp_path, "saved")
    datasets.DatasetDict({"test": datasets.Dataset.from_list(ROWS),
                          "train": datasets.Dataset.from_list(ROWS[:1])}).save_to_disk(str(path.parent / "saved"))
    with pytest.raises(UserError, match=r"saved: has the splits test, train; say which with `split:`"):
        load_task(path)
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "split": "test"}, allow_unicode=True))
    _same_items(path)
    path.write_text(yaml.safe_dump({**spec, "split": "dev"}, allow_unicode=True))
    with pytest.raises(UserError, match=r"no split 'dev' \(splits: test, train\)"):
        load_task(path)


def test_a_single_dataset_saved_to_disk(tmp_path):
    import datasets

    path = _task_with_items(tmp_path, "saved")
    datasets.Dataset.from_list(ROWS).save_to_disk(str(path.parent / "saved"))
    task = _same_items(path)  # one split: no `split:` needed
    assert [it.id for it in task.items] == [r["id"] for r in ROWS]


def test_a_folder_of_files_and_hf_folder_relative_to_the_task_file(tmp_path, monkeypatch):
    import json

    path = _task_with_items(tmp_path, "folder", split="test")
    folder = path.parent / "folder"
    folder.mkdir()
    (folder / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS))
    (folder / "train.jsonl").write_text(json.dumps(ROWS[0], ensure_ascii=False) + "\n")
    monkeypatch.chdir(tmp_path)  # not the task's folder: paths are relative to the task file
    _same_items(path)
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "items": "hf:folder:test", "split": None}, allow_unicode=True))
    _same_items(path)
    path.write_text(yaml.safe_dump({**spec, "items": "hf:folder", "split": None}, allow_unicode=True))
    with pytest.raises(UserError, match=r"has the splits .*say which with `split:`"):
        load_task(path)


@pytest.mark.parametrize("items_key", ["folder", "hf:folder:test"])
def test_a_folder_of_csv_files_reads_meta_columns_as_a_single_csv_does(tmp_path, items_key):
    path = _task_with_items(tmp_path, items_key, **({"split": "test"} if items_key == "folder" else {}))
    folder = path.parent / "folder"
    folder.mkdir()
    header = "id,source,meta.condition,meta.block\n"
    (folder / "test.csv").write_text(header + "".join(
        f'{r["id"]},"{r["source"]}",{r["meta"]["condition"]},{r["meta"]["block"]}\n' for r in ROWS), encoding="utf-8")
    (folder / "train.csv").write_text(header + "t0,别的句子,c9,b9\n", encoding="utf-8")
    task = _same_items(path)
    assert task.items[0].meta == {"condition": "c0", "block": "b0"}
    # a bad row in a folder's CSV names its file and line, as in a single CSV file
    (folder / "test.csv").write_text(header + "i0,第一句\n", encoding="utf-8")
    with pytest.raises(UserError) as exc:
        load_task(path)
    assert str(exc.value).startswith(f"{folder / 'test.csv'}:2: 2 cells for 4 header columns")


def _source_error_line(path, expected_end):
    """load_task's message and `tasks check`'s line for a problem of the items source: it names
    the task file and the line of its items key, then what to fix; exit 2."""
    with pytest.raises(UserError) as exc:
        load_task(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:{_line_of(path, 'items')}: items: ") and msg.endswith(expected_end), msg
    out = cli("tasks", "check", env={"HARNESS_TASKS": str(path.parent), "HF_HUB_OFFLINE": "1"})
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2 and errors == [f"error: {msg}"], out.stderr
    return msg


def test_an_unknown_hub_dataset_names_the_task_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = _task_with_items(tmp_path, "hf:nosuch/dataset")
    msg = _source_error_line(path, "check the name, or put the dataset in the local Hugging Face cache (HF_HOME), "
                                   "or go online")
    assert ": items: hf:nosuch/dataset: cannot load this dataset (" in msg


def test_a_missing_parquet_file_names_the_task_line(tmp_path):
    path = _task_with_items(tmp_path, "data/items.parquet")
    msg = _source_error_line(path, f"{path.parent / 'data' / 'items.parquet'}: items file not found; "
                                   "fix the path (relative to the task file)")
    assert "\n" not in msg and "Traceback" not in msg


def test_a_folder_with_several_splits_and_no_split_names_the_task_line(tmp_path):
    path = _task_with_items(tmp_path, "folder")
    folder = path.parent / "folder"
    folder.mkdir()
    for name in ("test", "train"):
        (folder / f"{name}.csv").write_text("id,source\ni0,第一句\n", encoding="utf-8")
    msg = _source_error_line(path, "say which with `split:` in the task file (or hf:<folder>:<split>)")
    assert f": items: {folder}: has the splits " in msg
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "split": "dev"}, allow_unicode=True))
    _source_error_line(path, "no split 'dev' (splits: train, test); name one of them")


def test_an_unsupported_format_is_one_line_listing_the_supported_ones(tmp_path):
    path = _task_with_items(tmp_path, "items.xlsx")
    (path.parent / "items.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(UserError) as exc:
        load_task(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:{_line_of(path, 'items')}: items: items.xlsx: this item format is not supported")
    for fmt in (".jsonl", ".csv", ".tsv", ".parquet", "save_to_disk", "hf:"):
        assert fmt in msg


# --- tasks check / list, and a broken file blocks nothing else ------------------------------

def _tasks_folder(tmp_path):
    """A tasks folder with one good task and one broken beside it (target_lang: cn, and a
    prompt file that does not exist: two problems)."""
    import shutil

    from conftest import ROOT

    folder = tmp_path / "tasks"
    items, refs = simple_items(4)
    good = make_task(folder, items, refs, task_id="good")
    broken = folder / "broken.yaml"
    spec = yaml.safe_load(good.read_text())
    broken.write_text(yaml.safe_dump({**spec, "id": "broken", "target_lang": "cn", "kind": "summarise"}))
    shutil.copytree(ROOT / "tasks" / "rubrics", folder / "rubrics")
    return folder, good, broken


def test_tasks_check_lists_every_problem_and_exits_2(tmp_path):
    folder, good, broken = _tasks_folder(tmp_path)
    out = cli("tasks", "check", env={"HARNESS_TASKS": str(folder)})
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    # both problems of the broken file, each with its line
    assert any(f"{broken}:{_line_of(broken, 'target_lang')}: target_lang: unknown language 'cn'" in e for e in errors)
    assert any(f"{broken}:{_line_of(broken, 'kind')}: kind:" in e for e in errors)
    assert len(errors) == 2, out.stderr
    assert f"ok     {good}" in out.stdout and f"BROKEN {broken}" in out.stdout


def test_tasks_check_finds_problems_in_every_named_file(tmp_path):
    folder, good, broken = _tasks_folder(tmp_path)
    broken.unlink()
    (good.parent / "prompt.j2").write_text("Translate: {{ sourse }}")
    (good.parent / "refs.jsonl").write_text('{"id": "i0", "references": []}\n')
    rubric = folder / "rubrics" / "summary.yaml"
    rubric.write_text(rubric.read_text().replace("      5: every claim", "      five: every claim"))
    out = cli("tasks", "check", env={"HARNESS_TASKS": str(folder)})
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2
    assert any("prompt.j2: template uses unknown variable 'sourse'" in e for e in errors)
    assert any("refs.jsonl:1: id i0: 'references' must be a non-empty list" in e for e in errors)
    assert any("summary.yaml:" in e and "needs anchors" in e for e in errors)


def test_tasks_check_counts_a_broken_rubric_once_with_a_relative_tasks_folder(tmp_path):
    folder, good, broken = _tasks_folder(tmp_path)
    broken.unlink()
    rubric = folder / "rubrics" / "translation.yaml"  # the default rubric of good's kind
    rubric.write_text(rubric.read_text().replace("      5: no accuracy error", "      five: no accuracy error"))
    (folder / "rubrics" / "my_rubric.yaml").write_text(MY_RUBRIC.replace("mode: scores", "mode: stars"))
    own = folder / "own.yaml"  # a task naming its own rubric
    own.write_text(yaml.safe_dump({**yaml.safe_load(good.read_text()), "id": "own",
                                   "rubric": "rubrics/my_rubric.yaml"}))
    out = cli("tasks", "check", env={"HARNESS_TASKS": "tasks"}, cwd=tmp_path)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2
    # each once, under its absolute name (line 11 is accuracy's anchors: key, line 2 the mode)
    assert sorted(errors) == [f"error: {folder / 'rubrics' / 'my_rubric.yaml'}:2: mode must be scores or errors "
                              "(got 'stars')",
                              f"error: {rubric}:11: dimension 'accuracy' needs anchors with the keys 1, 2, 3, 4 and 5 "
                              "(not 'five')"], out.stderr
    assert "2 problem(s) in 2 task file(s)" in out.stderr


def test_tasks_check_lists_the_named_files_problems_beside_an_invalid_task_files_own(tmp_path):
    folder, good, broken = _tasks_folder(tmp_path)  # broken: target_lang cn and kind summarise
    spec = yaml.safe_load(broken.read_text())
    broken.write_text(yaml.safe_dump({**spec, "references": "refs/nope.jsonl", "items": "nope.csv",
                                      "prompt": "bad.j2", "rubric": "rubrics/nope.yaml"}))
    (folder / "bad.j2").write_text("Translate: {{ sourse }}")
    out = cli("tasks", "check", env={"HARNESS_TASKS": str(folder)})
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2
    assert errors[0].startswith(f"error: {broken}:{_line_of(broken, 'kind')}: kind: Input should be "), out.stderr
    assert errors[1:] == [
        f"error: {broken}:{_line_of(broken, 'target_lang')}: target_lang: unknown language 'cn' (known: "
        f"{', '.join(KNOWN_LANGS)})",
        f"error: {folder / 'bad.j2'}: template uses unknown variable 'sourse' (available: "
        f"{', '.join(sorted(TEMPLATE_VARIABLES))})",
        f"error: {broken}:{_line_of(broken, 'references')}: references: {folder / 'refs' / 'nope.jsonl'}: "
        "references file not found; fix the path (relative to the task file)",
        f"error: {broken}:{_line_of(broken, 'rubric')}: rubric: {folder / 'rubrics' / 'nope.yaml'} not found "
        "(the path is relative to the task file)",
        f"error: {broken}:{_line_of(broken, 'items')}: items: {folder / 'nope.csv'}: items file not found; "
        "fix the path (relative to the task file)",
    ], out.stderr
    assert "6 problem(s) in 2 task file(s)" in out.stderr


def test_tasks_check_passes_on_good_tasks(tmp_path):
    folder, good, broken = _tasks_folder(tmp_path)
    broken.unlink()
    out = cli("tasks", "check", env={"HARNESS_TASKS": str(folder)})
    assert out.returncode == 0 and "1 task file(s): no problem" in out.stdout, out.stderr


def test_tasks_list_shows_the_good_and_marks_the_broken(tmp_path):
    import json

    folder, good, broken = _tasks_folder(tmp_path)
    out = cli("tasks", "list", env={"HARNESS_TASKS": str(folder)})
    assert out.returncode == 0
    assert out.stdout.splitlines()[0].startswith("good ") and "4 items" in out.stdout
    # its first problem, with file and line (kind comes before target_lang in pydantic's order)
    assert any(line.startswith("broken ") and "BROKEN" in line and f"{broken}:{_line_of(broken, 'kind')}: kind:" in line
               for line in out.stdout.splitlines()), out.stdout
    rows = json.loads(cli("tasks", "list", "--json", env={"HARNESS_TASKS": str(folder)}).stdout)
    assert [r.get("id") for r in rows if not r.get("broken")] == ["good"]
    assert [r["file"] for r in rows if r.get("broken")] == [str(broken)]


def test_eval_and_report_are_not_blocked_by_another_tasks_broken_file(tmp_path, results):
    folder, good, broken = _tasks_folder(tmp_path)
    env = {"HARNESS_TASKS": str(folder)}
    out = cli("eval", "--model", "baseline/copy", "--task", "good", "--no-ci", env=env)
    assert out.returncode == 0, out.stderr
    # the printed paths are where the results are ($HARNESS_RESULTS)
    assert f"{results}/runs/" in out.stdout and f"leaderboard {results}/leaderboard.csv" in out.stdout
    out = cli("report", env=env)
    assert out.returncode == 0, out.stderr
    assert (results / "report.html").exists()
    # without --task: the good task is evaluated and written, the broken one named, exit 2
    out = cli("eval", "--model", "baseline/lead", "--no-ci", env=env)
    assert out.returncode == 2
    assert "warning: skipped a broken task" in out.stderr and "broken task file(s) skipped" in out.stderr
    import pandas as pd

    board = pd.read_csv(results / "leaderboard.csv")
    assert set(board.model) == {"baseline/copy", "baseline/lead"} and set(board.task) == {"good"}


# --- macro: value and CI over the same conditions, and the row says how many ---------------

def test_macro_leaves_an_undefined_condition_out_of_value_and_ci_alike(tmp_path):
    import math

    import harness.results._leaderboard as lb
    from harness.pipeline._eval import score

    # condition "nums": 6 items with numbers in 3 blocks; condition "words": no numbers at all
    items = [{"id": f"n{k}", "source": f"收入增长了{k + 1}万美元,员工{k + 10}人。",
              "meta": {"condition": "nums", "block": f"b{k % 3}"}} for k in range(6)]
    items += [{"id": f"w{k}", "source": "今天天气很好。", "meta": {"condition": "words", "block": f"w{k % 3}"}}
              for k in range(6)]
    # outputs: item k of "nums" keeps both numbers when k is even, one when odd
    outs = {f"n{k}": f"Revenue grew by {(k + 1) * 10},000 dollars" + (f", {k + 10} staff." if k % 2 == 0 else ".")
            for k in range(6)}
    outs.update({f"w{k}": "The weather is nice today." for k in range(6)})
    refs = [{"id": i["id"], "references": [outs[i["id"]]]} for i in items]
    task = load_task(make_task(tmp_path / "m", items, refs, metrics=["numbers"]), via_datasets=False)

    class Outcome:
        def __init__(self, text):
            self.response = {"text": text, "finish_reason": "stop", "cost_usd": None, "completion_tokens": 3,
                             "input_truncated": False}
            self.error = None

    rows = lb.rows_for(score(task, "m", [(it, Outcome(outs[it.id])) for it in task.items]), "run", "now")
    macro = next(r for r in rows if r["condition"] == "macro" and r["metric"] == "number_recall")
    words = next(r for r in rows if r["condition"] == "words" and r["metric"] == "number_recall")
    assert math.isnan(words["value"])
    # by hand: 12 source numbers, even items keep 2, odd items 1 → 9 of 12 = 75.0
    assert macro["value"] == pytest.approx(75.0)
    assert math.isfinite(macro["ci_low"]) and macro["ci_low"] <= 75.0 <= macro["ci_high"]
    assert macro["n"] == 6  # the items of the conditions averaged
    assert "|conditions:1of2|" in macro["signature"]


# --- the README walk-through, end to end -----------------------------------------------------

def readme_files() -> dict[str, str]:
    """The files the README's "Add your own task" shows, by path (```lang file=PATH blocks)."""
    import re

    section = readme_section()
    return {m.group(1): m.group(2) for m in re.finditer(r"```\w+ file=(\S+)\n(.*?)```", section, re.S)}


def readme_section() -> str:
    from conftest import docs_text

    text = docs_text()
    section = text[text.index("## Add your own task"):]
    end = section.find("\n## ", 5)  # the section may be the last one of the text
    return section if end < 0 else section[:end]


def test_the_readme_walk_through(tmp_path, server):
    """Following the README only: the two tasks, the CSV items, the own rubric, the broken
    file beside them; a perfect system (a local OpenAI-compatible server answering each
    item with its reference) and baseline/copy; a judge that names the task's languages."""
    import json
    import re

    import pandas as pd

    files = readme_files()
    assert {"my_tasks/translate_en_zh.yaml", "my_tasks/items/en_zh.csv", "my_tasks/summarize_zh_tw.yaml",
            "my_tasks/rubrics/translation_en_zh.yaml", "my_tasks/broken.yaml"} <= set(files)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    # the perfect system: the reference of the item whose source is in the prompt
    answers = {}
    for task, items, refs in (("translate_en_zh", "en_zh.csv", "translate_en_zh.jsonl"),
                              ("summarize_zh_tw", "zh_tw.jsonl", "summarize_zh_tw.jsonl")):
        loaded = load_task(tmp_path / "my_tasks" / f"{task}.yaml", via_datasets=False)
        answers.update({it.source: it.references[0] for it in loaded.items})

    def responder(messages, body):
        prompt = messages[-1]["content"]
        if prompt.startswith("You are an expert evaluator"):
            if "CANDIDATE A" in prompt:
                return json.dumps({"winner": "A", "rationale": "-"})
            dims = re.findall(r'"(\w+)": 1-5', prompt)
            return json.dumps({"scores": {d: 5 for d in dims}, "rationale": "-"})
        return next(ref for src, ref in answers.items() if src in prompt)

    server.responder = responder
    env = {"HARNESS_TASKS": "my_tasks", "HARNESS_RESULTS": "my_results", "HARNESS_STORE": None,
           "OPENAI_API_BASE": server.base_url, "OPENAI_BASE_URL": server.base_url,
           "OPENAI_API_KEY": "sk-test-not-a-real-key-1234567890"}

    out = cli("tasks", "check", env=env, cwd=tmp_path)
    assert out.returncode == 2
    claimed = re.search(r"`harness tasks check` prints `(error: [^`]+)`", " ".join(readme_section().split())).group(1)
    assert claimed in " ".join(out.stderr.split())
    out = cli("tasks", "list", env=env, cwd=tmp_path)
    assert out.returncode == 0
    assert [line.split()[0] for line in out.stdout.splitlines()] == ["summarize_zh_tw", "translate_en_zh", "broken"]
    assert "BROKEN" in out.stdout.splitlines()[2]

    out = cli("eval", "--model", "baseline/copy", "--model", "openai/perfect", "--task", "translate_en_zh",
                  "--task", "summarize_zh_tw", "--judge", "openai/judge", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert re.search(r"run \S+: my_results/runs/\S+/items.csv, leaderboard my_results/leaderboard.csv", out.stdout)
    board = pd.read_csv(tmp_path / "my_results" / "leaderboard.csv")

    def value(model, task, metric, cond="all"):
        row = board[(board.model == model) & (board.task == task) & (board.metric == metric) & (board.condition == cond)]
        assert len(row) == 1, (model, task, metric, cond)
        return float(row.value.iloc[0])

    section = " ".join(readme_section().split())
    for task in ("translate_en_zh", "summarize_zh_tw"):
        assert value("openai/perfect", task, "number_recall") == 100.0
    assert value("openai/perfect", "summarize_zh_tw", "wrong_script_share") == 0.0
    copy_numbers = value("baseline/copy", "translate_en_zh", "number_recall")
    assert copy_numbers == pytest.approx(100 / 6, abs=1e-3)  # by hand: 1 of 6 source numbers
    assert f"scores {copy_numbers:.1f} on `number_recall` for the translation task" in section
    copy_script = value("baseline/copy", "summarize_zh_tw", "wrong_script_share")
    assert copy_script > 0 and f"and {copy_script:.1f} on `wrong_script_share` for the summary" in section
    # the CSV task has rows per condition, and the perfect system beats the copy on chrF
    assert value("openai/perfect", "translate_en_zh", "chrf", "scaled") == 100.0
    assert value("baseline/copy", "translate_en_zh", "chrf") < 10
    # the judge was told the task's own languages
    judged = [r["messages"][-1]["content"] for r in server.requests
              if r["messages"][-1]["content"].startswith("You are an expert evaluator")]
    assert any("translations from English to Chinese" in p for p in judged)
    assert any("summaries of Chinese texts written in Chinese (Traditional, Taiwan)" in p for p in judged)
    assert not any("Chinese to English" in p for p in judged)
    assert "numbers" in {m.rsplit(":", 1)[-1] for m in board.metric if m.startswith("judge:openai/judge:")}

    # the broken file blocks nothing else: report runs; eval without --task writes, then exits 2
    out = cli("report", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = cli("eval", "--model", "baseline/lead", "--no-ci", env=env, cwd=tmp_path)
    assert out.returncode == 2 and "broken task file(s) skipped" in out.stderr
    board = pd.read_csv(tmp_path / "my_results" / "leaderboard.csv")
    assert {"translate_en_zh", "summarize_zh_tw"} <= set(board[board.model == "baseline/lead"].task)
