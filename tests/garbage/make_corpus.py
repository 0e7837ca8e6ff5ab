"""Write the generated part of the hostile-input corpus (``gen-*`` files) into the kind folders beside this script.

Deterministic: the same script writes the same bytes (run it, then ``git diff`` shows any change). Hand-written
cases (any file not starting with ``gen-``) are left alone. See README.md for what each folder is fed to.

    .venv/bin/python tests/garbage/make_corpus.py
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random
import re
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PIWHEELS_HEADER = ("filename,accessed_by,accessed_at,arch,distro_name,distro_version,os_name,os_version,py_name,"
                   "py_version")
GOOD_PIWHEELS_ROW = ("Flask_Login-0.5.0-py2.py3-none-any.whl,192.0.2.10,2020-03-05 14:02:11,armv7l,"
                     "Raspbian GNU/Linux,10,Linux,4.19.97-v7l+,CPython,2.7.16")

REQUIREMENTS = [
    "", " ", "foo>=", "foo==", ">=1.0", "foo bar", "foo[", "foo[bar", "foo]", "foo[bar]]", "foo (>=1.0",
    "foo>=1.0)", "foo===", "foo~=", "foo>=1.0.*", "foo==1.0.*.1", "foo!=", "foo,>=1", "foo>=1;;",
    "foo @", "foo @ ", "foo @ http://127.0.0.1:9/foo-1.0.tar.gz", "foo @ file:///etc/passwd",
    "foo@ git+https://127.0.0.1:9/foo.git", "-e .", "--index-url=http://127.0.0.1:9/", "-r requirements.txt",
    ".", "./foo", "/abs/path", "foo==1.0 --hash=sha256:00", "é", "foo-", "-foo", "_foo", "foo\tbar", "foo\nbar",
    "foo==1.0\x00", "foo==é", "fo\u200bo", "foo<>1", "foo=>1", "foo=<1", "foo=1", "foo==1.0 or 2.0", "foo 1.0",
    "foo (1.0)", "foo>=1.0 <2.0", "a" * 5000 + ">=", "foo[" * 500, "foo" + "[x]" * 50, "foo==1.0;",
    "foo==\\1", "foo==${VERSION}", "foo==1.0 # comment", "'foo'", '"foo==1.0"', "foo[extra] @",
]

MARKERS = [
    'python_version >< "3"', 'python_version = "3"', "python_version == 3", 'python_version == "3',
    "python_version", 'and python_version == "3"', 'python_version == "3" and', 'python_version == "3" or or',
    '(python_version == "3"', 'python_version == "3")', 'unknown_var == "x"', 'python_version ~= ""',
    'sys_platform ~= "linux"', 'python_full_version ~= "3"', 'extras == "x"', 'dependency_groups == "x"',
    "python_version in", 'python_version not "3"', 'python_version is "3"', 'os_name == "posix" and',
    'python_version == "3" ; extra == "x"', "extra ==", "python_version <= '3' and (os_name == 'nt' or",
    'platform_machine ~= "arm"',
    "python_version == '3' and and os_name == 'nt'", 'implementation_name === ',
]

IMPOSSIBLE_DATES = [
    "2020-02-30", "2020-13-01", "2020-00-10", "2021-02-29", "2020-04-31", "0000-01-01", "20200230", "2020/03/05",
    "05-03-2020", "2020-3-5", "2020-03-05T25:00", "yesterday", "", " ", "2020-03-05 10:00:00 UTC", "99999-01-01",
    "-2020-01-01", "2020-03-32", "2020-02-29T24:00:01", "March 5, 2020", "1583366400", "2020-03-05T10:00:00+25:00",
    "2020-03-0５",
]

OUTSIDE_DATES = ["1999-01-01", "2100-01-01", "9999-12-31", "0001-01-01", "2019-06-30"]

INVALID_PACKAGES = ["a b", "-foo", "foo-", "é", "foo/bar", "../../etc/passwd", "foo;bar",
                    "'; DROP TABLE downloads; --", "%", "*", "foo\x00", " ", "foo..bar-", "_"]
UNKNOWN_PACKAGES = ["no-such-package-anywhere", "flask-logn", "x" * 200, "zope.interfaces-typo"]

BAD_FILENAMES = [
    "foo-1.0-x-y-py3-none-any.whl", "-1.0-py3-none-any.whl", "foo--1.0-py3-none-any.whl", "foo-1.0-py3-none-.whl",
    "foo-1.0--none-any.whl", "foo__bar-1.0-py3-none-any.whl", "foo-.tar.gz", "-1.0.tar.gz", "foo.tar.gz", ".whl",
    ".tar.gz", ".zip", "foo-1.0-py3-none-any.WHL", "foo-1.0.TAR.GZ", "foo-1.0-py3-none-any.whl.metadata",
    "foo-1.0.tar.bz2", "foo-1.0.egg", "foo-1.0-py3-none-any.whl ", "foo-1.0-py3-none-any-extra.whl",
    "foo-1.0-_-py3-none-any.whl", "foo_1.0-py3-none-any.whl", "foo-1.0.exe", "foo-1.0-py3-none-any.whl\x00",
    "foo-1.0.win32.exe", "foo-1.0.tgz", "foo-1.0.tar", "foo-1.0-py2.7.egg", "foo-abc-py3-none-any.whl",
    "foo-1.0-py3-none-any", "foo-1..0.tar.gz", "foo-1.0-py3-none-any.whl.asc", "../foo-1.0.tar.gz",
    "foo-1.0-cp37-cp37m-linux armv7l.whl", "foo-latest.tar.gz", "foo-1.0-1-2-py3-none-any.whl",
]
FILENAMES_PACKAGING_ACCEPTS = ["é-1.0-py3-none-any.whl", " foo-1.0.tar.gz", "foo-1.0\n-py3-none-any.whl",
                               "ﬀ-1.0.tar.gz"]


def requirement_cases() -> dict[str, bytes]:
    return {f"gen-req-{i:02d}-{_slug(text)}.txt": text.encode("utf-8") for i, text in enumerate(REQUIREMENTS)}


def marker_cases() -> dict[str, bytes]:
    return {f"gen-marker-{i:02d}-{_slug(text)}.txt": f"demo; {text}".encode() for i, text in enumerate(MARKERS)}


def date_cases() -> dict[str, bytes]:
    return {f"gen-date-{i:02d}-{_slug(text)}.txt": text.encode("utf-8") for i, text in enumerate(IMPOSSIBLE_DATES)}


def outside_date_cases() -> dict[str, bytes]:
    return {f"gen-outside-{text}.txt": text.encode() for text in OUTSIDE_DATES}


def package_cases() -> dict[str, bytes]:
    cases = {f"gen-invalid-{i:02d}-{_slug(text)}.txt": text.encode() for i, text in enumerate(INVALID_PACKAGES)}
    cases.update({f"gen-unknown-{i:02d}-{_slug(text)}.txt": text.encode() for i, text in enumerate(UNKNOWN_PACKAGES)})
    return cases


def filename_cases() -> dict[str, bytes]:
    cases = {f"gen-fn-{i:02d}-{_slug(text)}.txt": text.encode() for i, text in enumerate(BAD_FILENAMES)}
    cases.update({f"gen-lenient-{i:02d}-{_slug(text)}.txt": text.encode()
                  for i, text in enumerate(FILENAMES_PACKAGING_ACCEPTS)})
    return cases


def ingest_cases() -> dict[str, bytes]:
    rng = random.Random(20200305)
    cases: dict[str, bytes] = {}
    cases.update(_csv_cases())
    cases.update(_json_cases())
    for size in (1, 16, 512, 4096, 70_000):
        cases[f"gen-random-{size}.bin"] = rng.randbytes(size)
    cases.update(_binary_cases(rng))
    cases.update(_compression_cases(rng))
    cases.update({"gen-empty.csv": b"", "gen-newlines.csv": b"\n\n\n", "gen-bom-only.csv": b"\xef\xbb\xbf",
                  "gen-spaces.csv": b"   \t  \r\n", "gen-empty.csv.gz": gzip.compress(b"", mtime=0)})
    return cases


def _csv_cases() -> dict[str, bytes]:
    row = GOOD_PIWHEELS_ROW.split(",")
    return {
        "gen-piwheels-missing-columns.csv": _lines(PIWHEELS_HEADER, ",".join(row[:4]), ",".join(row[:9])),
        "gen-piwheels-extra-columns.csv": _lines(PIWHEELS_HEADER, ",".join([*row, "x", "y", "z", "w"])),
        "gen-piwheels-bad-times.csv": _lines(PIWHEELS_HEADER, ",".join([*row[:2], "2020-02-30 10:00:00", *row[3:]]),
                                             ",".join([*row[:2], "not a time", *row[3:]])),
        "gen-piwheels-bad-filenames.csv": _lines(PIWHEELS_HEADER, ",".join(["setup.py", *row[1:]]),
                                                 ",".join(["foo.tar.gz", *row[1:]])),
        "gen-piwheels-unbalanced-quote.csv": _lines(PIWHEELS_HEADER, '"' + GOOD_PIWHEELS_ROW),
        "gen-piwheels-headerless-short.csv": _lines(",".join(row[:1] + row[1:9]), ",".join(row[:9])),
        "gen-piwheels-header-only-garbage.csv": _lines(PIWHEELS_HEADER, "x", "y,z"),
        "gen-piwheels-nul.csv": _lines(PIWHEELS_HEADER, GOOD_PIWHEELS_ROW.replace("armv7l", "arm\x00v7l")[:20]),
        "gen-counts-missing-columns.csv": _lines("date,package,downloads", "2020-03-05,flask", "2020-03-05"),
        "gen-counts-extra-columns.csv": _lines("date,package,downloads", "2020-03-05,flask,3,4,5"),
        "gen-counts-not-numbers.csv": _lines("date,package,downloads", "2020-03-05,flask,three", "2020-03-05,x,1e9x"),
        "gen-counts-negative.csv": _lines("date,package,downloads", "2020-03-05,flask,-5"),
        "gen-counts-impossible-date.csv": _lines("date,package,downloads", "2020-02-30,flask,3", "2020-13-01,x,1"),
        "gen-counts-invalid-names.csv": _lines("date,package,downloads", "2020-03-05,a b,3", "2020-03-05,,4"),
        "gen-counts-huge-number.csv": _lines("date,package,downloads", "2020-03-05,flask," + "9" * 40),
        "gen-counts-semicolons.csv": _lines("date;package;downloads", "2020-03-05;flask;3"),
        "gen-counts-tabs.csv": _lines("date\tpackage\tdownloads", "2020-03-05\tflask\t3"),
        "gen-counts-utf16.csv": "date,package,downloads\n2020-03-05,flask,3\n".encode("utf-16"),
        "gen-counts-latin1-garbage.csv": _lines("date,package,downloads") + b"2020-03-05,fl\xe4sk\xff,3\n",
        "gen-bigquery-csv-garbage.csv": _lines("timestamp,file_project,file_version", "yesterday,,", "1,2"),
        "gen-wide-header.csv": _lines(",".join(f"c{i}" for i in range(5000)), ",".join("1" for _ in range(5000))),
        "gen-long-line.csv": _lines("date,package,downloads", "2020-03-05,flask," + "9" * 100_000),
        "gen-unknown-header.csv": _lines("when,what,how many", "2020-03-05,flask,3"),
        "gen-crlf-garbage.csv": b"date,package,downloads\r\n2020-03-05\r\nflask,3\r\n",
    }


def _json_cases() -> dict[str, bytes]:
    pypistats_row = {"category": "with_mirrors", "date": "2020-03-05", "downloads": 3}
    return {
        "gen-json-array.json": b'[{"timestamp": "2020-03-05", "file": {"project": "flask"}}]',
        "gen-json-scalar.json": b"42",
        "gen-json-string.json": b'"just a string"',
        "gen-json-null.json": b"null",
        "gen-json-empty-object.json": b"{}",
        "gen-pypistats-data-not-list.json": json.dumps({"data": 3, "package": "flask", "type": "overall_downloads"}
                                                       ).encode(),
        "gen-pypistats-unknown-type.json": json.dumps({"data": [pypistats_row], "package": "flask",
                                                       "type": "weekly_downloads"}).encode(),
        "gen-pypistats-rows-missing-keys.json": json.dumps({"data": [{"category": "x"}, {}], "package": "flask",
                                                            "type": "overall_downloads"}).encode(),
        "gen-pypistats-wrong-types.json": json.dumps({"data": [{"category": 1, "date": 2, "downloads": "many"}],
                                                      "package": "flask", "type": "overall_downloads"}).encode(),
        "gen-pypistats-no-package.json": json.dumps({"data": [pypistats_row], "type": "overall_downloads"}).encode(),
        "gen-pypistats-bad-package.json": json.dumps({"data": [pypistats_row], "package": "a b",
                                                      "type": "overall_downloads"}).encode(),
        "gen-pypistats-impossible-date.json": json.dumps({"data": [{**pypistats_row, "date": "2020-02-30"}],
                                                          "package": "flask", "type": "overall_downloads"}).encode(),
        "gen-jsonl-not-objects.jsonl": b"1\n2\n[3]\n",
        "gen-jsonl-broken.jsonl": b'{"timestamp": "2020-03-05", "file": {"project": \n{"oops"\n',
        "gen-bigquery-wrong-types.jsonl": _lines(json.dumps({"timestamp": 3, "file": {"project": ["x"]}}),
                                                 json.dumps({"timestamp": "soon", "file": "flask"})),
        "gen-bigquery-missing-project.jsonl": _lines(json.dumps({"timestamp": "2020-03-05 10:00:00 UTC",
                                                                 "file": {"version": "1.0"}, "project": None})),
        "gen-jsonl-deep.jsonl": b'{"a": ' + b"[" * 20_000 + b"\n",
        "gen-jsonl-huge-int.jsonl": b'{"timestamp": ' + b"9" * 5000 + b', "project": "x"}\n',
        "gen-releases-wrong-types.jsonl": _lines(json.dumps({"name": 3, "version": [], "upload_time": {},
                                                             "requires_dist": "six", "packagetype": 1})),
    }


def _binary_cases(rng: random.Random) -> dict[str, bytes]:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(zipfile.ZipInfo("../../escape.csv", date_time=(2020, 3, 5, 0, 0, 0)),
                        "date,package,downloads\n2020-03-05,flask,3\n")
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as handle:
        data = b"date,package,downloads\n"
        info = tarfile.TarInfo("../escape.csv")
        info.size = len(data)
        handle.addfile(info, io.BytesIO(data))
    return {
        "gen-elf.bin": b"\x7fELF\x02\x01\x01" + rng.randbytes(200),
        "gen-png.png": b"\x89PNG\r\n\x1a\n" + rng.randbytes(200),
        "gen-zip.zip": archive.getvalue(),
        "gen-tar.tar": tar.getvalue(),
        "gen-sqlite.db": b"SQLite format 3\x00" + rng.randbytes(500),
        "gen-duckdb-lookalike.duckdb": rng.randbytes(8) + b"DUCK" + rng.randbytes(500),
        "gen-parquet-magic-garbage.parquet": b"PAR1" + rng.randbytes(300) + b"PAR1",
        "gen-parquet-magic-only.parquet": b"PAR1",
        "gen-gz-parquet-lookalike.gz": gzip.compress(b"PAR1" + rng.randbytes(100), mtime=0),
        "gen-utf32.json": json.dumps({"data": []}).encode("utf-32"),
        "gen-control-chars.csv": bytes(range(32)) * 10,
    }


def _compression_cases(rng: random.Random) -> dict[str, bytes]:
    log = _lines(PIWHEELS_HEADER, GOOD_PIWHEELS_ROW)
    whole = gzip.compress(log * 200, mtime=0)
    corrupt = bytearray(whole)
    corrupt[40:60] = bytes(20)
    return {
        "gen-gz-magic-then-garbage.csv.gz": b"\x1f\x8b" + rng.randbytes(300),
        "gen-gz-header-then-garbage.csv.gz": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + rng.randbytes(300),
        "gen-gz-truncated.csv.gz": whole[: len(whole) // 2],
        "gen-gz-corrupt-middle.csv.gz": bytes(corrupt),
        "gen-gz-of-garbage.gz": gzip.compress(rng.randbytes(2000), mtime=0),
        "gen-gz-twice.csv.gz": gzip.compress(gzip.compress(log, mtime=0), mtime=0),
        "gen-bz2.csv.bz2": bz2.compress(log),
        "gen-xz.csv.xz": lzma.compress(log),
        "gen-named-gz-but-plain.csv.gz": b"this is not gzip,at all\n",
    }


def pipdeptree_cases() -> dict[str, bytes]:
    package = {"key": "flask", "package_name": "Flask", "installed_version": "1.1.1"}
    dependency = {**package, "required_version": ">=1.0"}
    documents: dict[str, object] = {
        "top-object": {"package": package, "dependencies": []},
        "top-string": "pipdeptree",
        "top-null": None,
        "top-number": 3,
        "list-of-scalars": [1, "two", None],
        "entry-without-package": [{"dependencies": []}],
        "entry-without-dependencies": [{"package": package}],
        "package-not-object": [{"package": "flask", "dependencies": []}],
        "dependencies-not-list": [{"package": package, "dependencies": {"a": 1}}],
        "key-not-string": [{"package": {**package, "key": 3}, "dependencies": []}],
        "key-invalid-name": [{"package": {**package, "key": "a b"}, "dependencies": []}],
        "version-not-string": [{"package": {**package, "installed_version": [1, 1]}, "dependencies": []}],
        "required-version-invalid": [{"package": package, "dependencies": [{**dependency,
                                                                             "required_version": ">=>1"}]}],
        "dependency-not-object": [{"package": package, "dependencies": ["six"]}],
        "extra-not-string": [{"package": package, "dependencies": [{**dependency, "extra": 3}]}],
        "candidate-version": [{"package": {"key": "flask", "package_name": "Flask", "candidate_version": "2.0"},
                               "dependencies": []}],
        "tree-without-key": [{"package_name": "Flask", "installed_version": "1.0", "dependencies": []}],
        "tree-children-not-list": [{"key": "flask", "package_name": "Flask", "installed_version": "1.0",
                                    "required_version": None, "dependencies": "six"}],
        "tree-child-invalid": [{"key": "flask", "package_name": "Flask", "installed_version": "1.0",
                                "required_version": None, "dependencies": [{"key": "six"}]}],
    }
    cases = {f"gen-pdt-{name}.json": json.dumps(doc).encode() for name, doc in documents.items()}
    cases.update({
        "gen-pdt-empty.json": b"",
        "gen-pdt-whitespace.json": b" \n\t ",
        "gen-pdt-binary.json": random.Random(7).randbytes(400),
        "gen-pdt-text-output.json": b"Flask==1.1.1\n  - click [required: >=5.1, installed: 7.1]\n",
        "gen-pdt-truncated.json": json.dumps([{"package": package, "dependencies": []}]).encode()[:30],
        "gen-pdt-deep.json": b"[" * 20_000 + b"]" * 20_000,
        "gen-pdt-huge-int.json": b"[" + b"1" * 5000 + b"]",
        "gen-pdt-utf16-garbage.json": "not json at all".encode("utf-16"),
        "gen-pdt-gzip.json": gzip.compress(b"[]", mtime=0),
    })
    return cases


def metadata_cases() -> dict[str, bytes]:
    rng = random.Random(658)
    core = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    return {
        "gen-meta-empty.metadata": b"",
        "gen-meta-binary.metadata": rng.randbytes(300),
        "gen-meta-html.metadata": b"<html><head><title>503</title></head><body>Service Unavailable</body></html>",
        "gen-meta-json.metadata": json.dumps({"name": "demo", "requires_dist": ["six"]}).encode(),
        "gen-meta-only-requires.metadata": b"Requires-Dist: six\n",
        "gen-meta-no-name.metadata": b"Metadata-Version: 2.1\nVersion: 1.0\nRequires-Dist: six\n",
        "gen-meta-utf16-bom.metadata": (core + "Requires-Dist: six\n").encode("utf-16"),
        "gen-meta-utf8-bom.metadata": b"\xef\xbb\xbf" + (core + "Requires-Dist: six\n").encode(),
        "gen-meta-latin1-marker.metadata": core.encode() + b"Requires-Dist: six; platform_release == '\xe9t\xe9'\n",
        "gen-meta-crlf.metadata": (core + "Requires-Dist: six\n").replace("\n", "\r\n").encode(),
        "gen-meta-bad-requirements.metadata": (core + "".join(f"Requires-Dist: {r}\n" for r in
                                               ("six (>dev)", "helper >=", "[x]", "six; python_version >< '3'",
                                                ">=1.0", "six @", "helper; extra == "))).encode(),
        "gen-meta-undefined-markers.metadata": (core + "Requires-Dist: six; python_version ~= ''\n"
                                                "Requires-Dist: helper; extras == 'x'\n").encode(),
        "gen-meta-self.metadata": (core + "Requires-Dist: demo\nRequires-Dist: demo[x]; extra == 'x'\n"
                                   "Provides-Extra: x\n").encode(),
        "gen-meta-url-requirement.metadata": (core + "Requires-Dist: six @ http://127.0.0.1:9/six.whl\n").encode(),
        "gen-meta-many-requires.metadata": (core + "Requires-Dist: six\n" * 1000).encode(),
        "gen-meta-long-header.metadata": (core + "Summary: " + "x" * 100_000 + "\nRequires-Dist: six\n").encode(),
        "gen-meta-nul.metadata": core.encode() + b"Requires-Dist: six\x00helper\n",
        "gen-meta-empty-requires.metadata": (core + "Requires-Dist:\nRequires-Dist: \n").encode(),
        "gen-meta-duplicate-version.metadata": (core + "Metadata-Version: 9.9\nRequires-Dist: six\n").encode(),
        "gen-meta-requires-python-garbage.metadata": (core + "Requires-Python: >=3.x, <banana\n").encode(),
        "gen-meta-requires-python-none.metadata": (core + "Requires-Python: <0\n").encode(),
        "gen-meta-multipart.metadata": (core + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
                                        "Requires-Dist: six\n\n--b--\n").encode(),
        "gen-meta-folded.metadata": (core + "Requires-Dist: six;\n python_version > '2'\n").encode(),
        "gen-meta-headers-in-body.metadata": (core + "\nRequires-Dist: helper\n").encode(),
        "gen-meta-unknown-dependency.metadata": (core + "Requires-Dist: no-such-dependency-here\n").encode(),
        "gen-meta-extras-garbage.metadata": (core + "Provides-Extra: !!\nRequires-Dist: six; extra == '!!'\n").encode(),
        "gen-meta-dynamic.metadata": (b"Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nDynamic: Requires-Dist\n"
                                      b"Requires-Dist: six\n"),
    }


def simple_page_cases() -> dict[str, bytes]:
    page = {"meta": {"api-version": "1.1"}, "name": "demo"}
    entry = {"filename": "demo-1.0-py3-none-any.whl", "url": "demo-1.0-py3-none-any.whl", "hashes": {}}
    return {
        "gen-page-html-error.json": b"<html><body>502 Bad Gateway</body></html>",
        "gen-page-files-not-list.json": json.dumps({**page, "files": "none"}).encode(),
        "gen-page-no-meta.json": json.dumps({"name": "demo", "files": []}).encode(),
        "gen-page-future-api.json": json.dumps({**page, "meta": {"api-version": "9.0"}, "files": []}).encode(),
        "gen-page-file-no-url.json": json.dumps({**page, "files": [{"filename": "demo-1.0.tar.gz"}]}).encode(),
        "gen-page-bad-upload-time.json": json.dumps({**page, "files": [{**entry, "upload-time": "noon"}]}).encode(),
        "gen-page-bad-size.json": json.dumps({**page, "files": [{**entry, "size": "big"}]}).encode(),
        "gen-page-bad-yanked.json": json.dumps({**page, "files": [{**entry, "yanked": 3}]}).encode(),
        "gen-page-list.json": b"[]",
        "gen-page-deep.json": b"[" * 20_000 + b"]" * 20_000,
        "gen-page-empty.json": b"",
        "gen-page-no-links.html": b"<html><body><h1>Links for demo</h1></body></html>",
        "gen-page-binary.html": random.Random(503).randbytes(500),
        "gen-page-junk-links.html": b'<a href="demo.exe">demo.exe</a><a href="../../etc/passwd">x</a>'
                                    b'<a href="demo-1.0.tar.bz2">demo-1.0.tar.bz2</a><a>no href</a>',
        "gen-page-text.txt": b"demo-1.0-py3-none-any.whl\n",
        "gen-page-binary.bin": random.Random(504).randbytes(500),
    }


def piwheels_json_cases() -> dict[str, bytes]:
    release = {"released": "2020-03-01 10:00:00", "prerelease": False, "yanked": False, "skip_reason": "",
               "files": {}}
    documents: dict[str, object] = {
        "list": [], "scalar": 3, "no-releases": {"package": "demo"}, "releases-list": {"package": "demo",
                                                                                        "releases": []},
        "no-package": {"releases": {}}, "package-not-string": {"package": 3, "releases": {}},
        "release-not-object": {"package": "demo", "releases": {"1.0": "yes"}},
        "release-no-files": {"package": "demo", "releases": {"1.0": {"released": "2020-03-01 10:00:00"}}},
        "impossible-release-date": {"package": "demo", "releases": {"1.0": {**release, "released": "2020-02-30 "
                                                                                                  "10:00:00"}}},
        "bad-flag": {"package": "demo", "releases": {"1.0": {**release, "yanked": "no"}}},
        "file-not-object": {"package": "demo", "releases": {"1.0": {**release, "files": {"demo.whl": 3}}}},
        "bad-filesize": {"package": "demo", "releases": {"1.0": {**release, "files": {
            "demo-1.0-py3-none-any.whl": {"filesize": -1}}}}},
        "bad-dependencies": {"package": "demo", "releases": {"1.0": {**release, "files": {
            "demo-1.0-py3-none-any.whl": {"pip_dependencies": "six"}}}}},
        "no-usable-files": {"package": "demo", "releases": {"1.0": {**release, "files": {
            "demo-1.0.exe": {}, "other-1.0-py3-none-any.whl": {}}}}},
    }
    cases = {f"gen-pw-{name}.json": json.dumps(doc).encode() for name, doc in documents.items()}
    cases.update({"gen-pw-html.json": b"<html>Not Found</html>", "gen-pw-deep.json": b"[" * 20_000,
                  "gen-pw-empty.json": b""})
    return cases


KINDS = {
    "requirements": requirement_cases, "markers": marker_cases, "dates": date_cases,
    "dates-outside": outside_date_cases, "packages": package_cases, "filenames": filename_cases,
    "ingest": ingest_cases, "pipdeptree": pipdeptree_cases, "metadata": metadata_cases,
    "simple-pages": simple_page_cases, "piwheels-json": piwheels_json_cases,
}


def _lines(*lines: str) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def _slug(text: str, width: int = 32) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:width].strip("-")
    return slug or "blank"


def write(folder: Path, cases: dict[str, bytes]) -> int:
    """Replace the generated files of one kind folder; hand-written files stay."""
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("gen-*"):
        if stale.name not in cases:
            stale.unlink()
    for name, data in cases.items():
        path = folder / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    return len(cases)


def main(kinds: Iterable[str] = KINDS) -> None:
    total = sum(write(HERE / kind, KINDS[kind]()) for kind in kinds)
    print(f"wrote {total} generated cases into {HERE}")


if __name__ == "__main__":
    main()
