-- Every propensity model trained so far, with its test figures against the
-- baselines and whether it passed the gate (only passing models are served).
select
    model_id,
    trained_at,
    test_as_of_date,
    roc_auc,
    logreg_roc_auc,
    rule_roc_auc,
    pr_auc,
    f1,
    top_decile_lift,
    passed_quality_gate
from {{ ref('propensity_models') }}
order by trained_at desc
