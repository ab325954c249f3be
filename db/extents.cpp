#include "db/extents.h"

#include "db/database.h"
#include "db/store.h"

namespace dynfault::db {

std::vector<RunExtent> run_extents(Store& store, const std::string& campaign) {
  Database& db = store.database();
  Transaction snapshot(db, Transaction::Mode::kDeferred);
  auto& select = db.prepared(
      "SELECT r.run_uuid, r.campaign, r.program_id, COALESCE(r.outcome, ''), r.recipe_json, "
      "(SELECT MAX(m.step) + 1 FROM metrics AS m WHERE m.run_uuid = r.run_uuid AND m.key_id = "
      "(SELECT key_id FROM metric_keys WHERE key = 'train/loss')), "
      "(SELECT MAX(m.step) + 1 FROM metrics AS m WHERE m.run_uuid = r.run_uuid AND m.key_id = "
      "(SELECT key_id FROM metric_keys WHERE key = 'epoch/train_loss')) "
      "FROM runs AS r WHERE r.status = 'FINISHED' AND (?1 = '' OR r.campaign = ?1) "
      "ORDER BY r.run_uuid");
  ResetGuard reset(select);
  select.bind(1, campaign);
  std::vector<RunExtent> out;
  while (select.step()) {
    RunExtent e;
    e.run_uuid = select.column_text(0);
    e.campaign = select.column_text(1);
    e.program = select.column_text(2);
    e.outcome = select.column_text(3);
    e.recipe_json = select.column_text(4);
    e.steps = select.column_is_null(5) ? 0 : select.column_int64(5);
    e.epochs = select.column_is_null(6) ? 0 : select.column_int64(6);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace dynfault::db
