# Real data sources (dataset.source: real): download, verify, extract safely and convert into the
# data contract; one rule per source, each one `points2sound data fetch` call (see data/sources/).
# Included by the Snakefile only for real profiles (paper). Downloads are cached in sources.cache_dir
# (shared by profiles); offline, place the files there by hand: they are verified and used.

from points2sound.config import section_digest as _section_digest

CACHE = P["sources"]["cache_dir"]
MANIFESTS = f"{D}/manifests"
MEASURED = [r for r, c in P["rooms"]["sets"].items() if (c or {}).get("source") == "measured"]


def source_digest(name, *sections):
    """Rerun a fetch rule when its source entry or the sections it reads change."""
    return _section_digest({"source": P["sources"].get(name), **{k: P.get(k) for k in sections}},
                           "source", *sections)


rule fetch_music_solos:
    output: audio=directory(f"{D}/audio"), manifest=f"{MANIFESTS}/music_solos.json"
    log: f"{LOGS}/fetch_music_solos.log"
    params: digest=source_digest("music_solos", "seed", "instruments", "audio"), cache=CACHE
    shell: "{CLI} data fetch music_solos {OPTS} --dataset {D} --cache {params.cache} --manifest {output.manifest} --log {log}"


rule fetch_points2sound_clouds:
    output: frames=directory(f"{D}/frames"), manifest=f"{MANIFESTS}/points2sound_clouds.json"
    log: f"{LOGS}/fetch_points2sound_clouds.log"
    params: digest=source_digest("points2sound_clouds", "instruments"), cache=CACHE
    shell: "{CLI} data fetch points2sound_clouds {OPTS} --dataset {D} --cache {params.cache} --manifest {output.manifest} --log {log}"


if P["shapes"]["name"] == "modelnet40":

    rule fetch_modelnet40:
        output: shapes=directory(f"{D}/shapes"), manifest=f"{MANIFESTS}/modelnet40.json"
        log: f"{LOGS}/fetch_modelnet40.log"
        params: digest=source_digest("modelnet40", "seed", "shapes"), cache=CACHE
        shell: "{CLI} data fetch modelnet40 {OPTS} --dataset {D} --cache {params.cache} --manifest {output.manifest} --log {log}"


if P["hrir"]["source"] == "sofa":

    rule fetch_kemar:
        output: sofa=f"{D}/ir/{HRIR}.sofa", manifest=f"{MANIFESTS}/kemar.json"
        log: f"{LOGS}/fetch_kemar.log"
        params: digest=source_digest("kemar", "hrir", "render"), cache=CACHE
        shell: "{CLI} data fetch kemar {OPTS} --dataset {D} --cache {params.cache} --manifest {output.manifest} --log {log}"

    ruleorder: fetch_kemar > make_hrir


if MEASURED:

    rule fetch_room:
        output: sofa=f"{D}/ir/{{room}}.sofa", manifest=f"{MANIFESTS}/rooms_{{room}}.json"
        wildcard_constraints: room="|".join(MEASURED)
        log: f"{LOGS}/fetch_room_{{room}}.log"
        params: digest=source_digest("rooms", "rooms"), cache=CACHE
        shell: "{CLI} data fetch rooms --room {wildcards.room} {OPTS} --dataset {D} --cache {params.cache} --manifest {output.manifest} --log {log}"

    ruleorder: fetch_room > make_brir
