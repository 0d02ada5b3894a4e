from tracker.ingest.salts import DailySalts

MIDNIGHT = 1_795_478_400  # 2026-11-24 00:00:00 UTC


def test_the_salt_changes_at_midnight_utc_and_only_then(tmp_path):
    salts = DailySalts(tmp_path)
    evening = salts.current(MIDNIGHT - 3600)
    assert salts.current(MIDNIGHT - 0.001) == evening
    morning = salts.current(MIDNIGHT)
    assert morning != evening
    assert salts.current(MIDNIGHT + 86_399) == morning
    assert [p.name for p in tmp_path.iterdir()] == ["2026-11-24"]


def test_workers_share_the_day_salt(tmp_path):
    assert DailySalts(tmp_path).current(MIDNIGHT) == DailySalts(tmp_path).current(MIDNIGHT + 60)


def test_prune_deletes_the_days_before_and_keeps_a_newer_one(tmp_path):
    salts = DailySalts(tmp_path)
    salts.current(MIDNIGHT - 60)
    (tmp_path / "2026-11-24").write_bytes(bytes(32))  # another worker is already on the next day
    salts.prune(MIDNIGHT - 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-23", "2026-11-24"]
    salts.prune(MIDNIGHT + 5)
    assert [p.name for p in tmp_path.iterdir()] == ["2026-11-24"]
