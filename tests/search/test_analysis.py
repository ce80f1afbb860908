"""The analysis both backends share: folding, CJK bigrams, words, synonyms, highlighting."""

from market.search import analysis


def test_cjk_runs_become_overlapping_bigrams():
    assert analysis.terms("环境影响评价") == ["环境", "境影", "影响", "响评", "评价"]


def test_a_lone_cjk_character_stays_a_unigram_and_punctuation_breaks_runs():
    assert analysis.terms("测，绘图") == ["测", "绘图"]


def test_traditional_characters_are_folded_to_simplified():
    assert analysis.terms("環境影響評價") == analysis.terms("环境影响评价")
    for trad, simp in [("環", "环"), ("評", "评"), ("價", "价"), ("測", "测"), ("繪", "绘"), ("審", "审"), ("圖", "图"),
                       ("規", "规"), ("劃", "划"), ("務", "务"), ("機", "机"), ("構", "构"), ("區", "区"), ("縣", "县"),
                       ("廣", "广"), ("東", "东")]:
        assert analysis.fold(trad) == simp


def test_full_width_and_compatibility_forms_are_folded_and_lower_cased():
    assert analysis.terms("ＩＳＯ９００１ ㎡ ① ⾦属") == ["iso9001", "m2", "1", "金属"]


def test_words_keep_the_standard_tokenizers_joins():
    assert analysis.terms("GB50300-2013 v1.2 1,000 3.5万元") == ["gb50300", "2013", "v1.2", "1,000", "3.5", "万元"]


def test_token_offsets_point_into_the_original_text():
    text = "廣東省環評"
    assert [(t.term, text[t.start:t.end]) for t in analysis.analyze(text)] == [
        ("广东", "廣東"), ("东省", "東省"), ("省环", "省環"), ("环评", "環評")]


def test_abbreviations_expand_to_their_full_terms():
    assert analysis.expand("环评") == ["环评", "环境影响评价"]
    assert analysis.expand("環評报告") == ["环评报告", "环境影响评价报告"]
    assert analysis.expand("安评")[1] == "安全评价"
    assert "节能评估" in analysis.expand("能评")
    assert "水土保持" in analysis.expand("水保")
    assert "地质灾害危险性评估" in analysis.expand("地灾")
    assert "施工图审查" in analysis.expand("图审")


def test_equivalent_synonyms_work_both_ways_and_one_way_rules_one_way():
    assert "环评" in analysis.expand("环境影响评价")
    assert analysis.expand("测绘") == ["测绘", "测量", "勘测"]
    assert analysis.expand("测量") == ["测量"]


def test_a_query_of_punctuation_only_matches_nothing_and_an_empty_one_everything():
    assert analysis.parse_query("，。！").matches_nothing
    assert analysis.parse_query("  ").is_empty


def test_highlight_marks_the_matching_terms_and_escapes_the_rest():
    wanted = analysis.parse_query("环评").all_terms
    assert analysis.highlight("<b>廣州環境影響評價</b>", wanted) == "&lt;b&gt;廣州<mark>環境影響評價</mark>&lt;/b&gt;"


def test_fragments_are_cut_around_the_matches():
    wanted = analysis.parse_query("水土保持").all_terms
    text = "本公司" + "从事工程咨询" * 20 + "，承担水土保持方案编制。"
    fragments = analysis.highlight_fragments(text, wanted, size=20)
    assert len(fragments) == 1
    assert "<mark>水土保持</mark>" in fragments[0] and fragments[0].startswith("…")


def test_the_elasticsearch_rules_come_from_the_same_tables():
    rules = analysis.es_char_filter_mappings()
    assert "環 => 环" in rules and "Ａ => a" in rules and "\\u33a1 => m2" in rules
    assert len(rules) == len(analysis.fold_table())
    assert analysis.es_synonym_rules()[0] == "环评, 环境影响评价"
    assert "测绘 => 测绘, 测量, 勘测" in analysis.es_synonym_rules()
