from app.text import counted, file_size, rich_text


def test_rich_text_keeps_line_breaks_and_escapes():
    assert rich_text("first <b>line</b>\nsecond") == "first &lt;b&gt;line&lt;/b&gt;<br>\nsecond"
    assert rich_text("a\r\nb") == "a<br>\nb"
    assert rich_text("") == "" and rich_text(None) == ""


def test_rich_text_links_http_addresses_only_and_safely():
    html = rich_text("See https://example.com/doc?a=1&b=2, then javascript:alert(1) or http://x.test/a.")
    assert html == ('See <a href="https://example.com/doc?a=1&amp;b=2" rel="noopener noreferrer nofollow" '
                    'target="_blank">https://example.com/doc?a=1&amp;b=2</a>, then javascript:alert(1) or '
                    '<a href="http://x.test/a" rel="noopener noreferrer nofollow" target="_blank">http://x.test/a</a>.')
    assert "<a" not in rich_text('https://"onmouseover=alert(1)')  # a quote ends the address: nothing to link


def test_file_sizes_read_naturally():
    assert [file_size(n) for n in (0, 1, 45, 1023, 1024, 1536, 12_800, 150_000, 5 * 1024 ** 2, 3 * 1024 ** 3)] == [
        "0 bytes", "1 byte", "45 bytes", "1023 bytes", "1 KB", "1.5 KB", "12.5 KB", "146 KB", "5 MB", "3 GB"]
    assert file_size(None) == "—"


def test_counted_nouns():
    assert counted(1, "open criterion", "open criteria") == "1 open criterion"
    assert counted(3, "open criterion", "open criteria") == "3 open criteria"
    assert counted(0, "task") == "0 tasks"
