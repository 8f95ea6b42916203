-- arcfarm: questions researchers ask, answered in SQL over the stable views.
--
-- The views are created by the migrations (migrations/versions/) and keep these column names;
-- query them rather than the tables, whose columns may grow. They run on PostgreSQL and SQLite.
--
--   run_summary(run_id, name, status, n_tasks, n_done, n_failed, n_solved, score, predictions,
--               worker_seconds, created_at, finished_at, base_training_id)
--       One row per run. score = sum over tasks of the task's score; n_solved = tasks whose every
--       test input has a correct attempt (score = 1); worker_seconds = sum of the jobs' wall-clock seconds (GPU or CPU workers);
--       base_training_id = the `arcfarm learn` training the run started from (NULL if none).
--   task_results(run_id, task_id, status, epochs_run, predictions, first_solved_epoch,
--                passes_train, score, seconds)
--       One row per job (task of a run). score = fraction of the task's test inputs whose
--       attempt_1 or attempt_2 is right (NULL when unknown: no solutions, or no attempts yet);
--       first_solved_epoch = first epoch with a sampled program whose test outputs are all right
--       (NULL if none, or no solutions); passes_train = predictions passing every train pair.
--   epoch_stats(run_id, task_id, epoch, predictions, valid_outputs, unique_outputs, relabeled,
--               train_loss, best_train_correct_grids, passes_train, sample_s, execute_s, train_s)
--       One row per committed epoch of a job. Epoch 0 is the initial search (no training before it).
--   prediction_log(run_id, task_id, epoch, sample_index, code, error, correct_train_grids,
--                  passes_train, test_correct, output_fingerprint, completion_tokens)
--       One row per sampled program; sample_index counts across epochs within the task.
--
-- "Solved" below means what task_results.first_solved_epoch means (some sampled program got the
-- test outputs right) unless the question says "score", which is what the submission earns.
-- Parameters are written :name (SQLAlchemy text() and psql's \set both read them), e.g.
--   psql "$DB" -v run_a=1 -v run_b=2 -f docs/queries.sql
-- Each question starts with a "-- Q:" line; tests/db/test_queries.py runs every one of them.

-- Q: Solve rate by epoch: how many tasks of each run had a correct program by the end of each epoch?
SELECT ep.run_id,
       ep.epoch,
       SUM(CASE WHEN tr.first_solved_epoch <= ep.epoch THEN 1 ELSE 0 END) AS tasks_solved,
       COUNT(*) AS tasks,
       ROUND(1.0 * SUM(CASE WHEN tr.first_solved_epoch <= ep.epoch THEN 1 ELSE 0 END) / COUNT(*), 3) AS solve_rate
FROM (SELECT DISTINCT run_id, epoch FROM epoch_stats) ep
JOIN task_results tr ON tr.run_id = ep.run_id
GROUP BY ep.run_id, ep.epoch
ORDER BY ep.run_id, ep.epoch;

-- Q: Which tasks were first solved after epoch 0, i.e. only after test-time training?
SELECT run_id, task_id, first_solved_epoch
FROM task_results
WHERE first_solved_epoch > 0
ORDER BY run_id, task_id;

-- Q: Error mix: how do sampled programs fail, per run?
SELECT run_id,
       COALESCE(error, 'none') AS error,
       COUNT(*) AS predictions
FROM prediction_log
GROUP BY run_id, COALESCE(error, 'none')
ORDER BY run_id, predictions DESC, error;

-- Q: Tokens per solved task: how many completion tokens did each fully solved task (score 1) cost?
SELECT pl.run_id, pl.task_id, SUM(pl.completion_tokens) AS completion_tokens
FROM prediction_log pl
JOIN task_results tr ON tr.run_id = pl.run_id AND tr.task_id = pl.task_id
WHERE tr.score = 1
GROUP BY pl.run_id, pl.task_id
ORDER BY pl.run_id, pl.task_id;

-- Q: Compare two runs task by task (parameters :run_a and :run_b).
SELECT a.task_id,
       a.score AS score_a, b.score AS score_b,
       a.first_solved_epoch AS first_solved_a, b.first_solved_epoch AS first_solved_b,
       a.predictions AS predictions_a, b.predictions AS predictions_b
FROM task_results a
JOIN task_results b ON b.task_id = a.task_id
WHERE a.run_id = :run_a AND b.run_id = :run_b
ORDER BY a.task_id;

-- Q: Solve rate vs predictions spent: how many tasks had a correct program within the first N samples?
WITH budgets AS (
    SELECT 1 AS budget UNION ALL SELECT 2 UNION ALL SELECT 4 UNION ALL SELECT 8
), first_hit AS (
    SELECT run_id, task_id, MIN(sample_index) + 1 AS predictions_needed
    FROM prediction_log
    WHERE test_correct
    GROUP BY run_id, task_id
)
SELECT r.run_id,
       b.budget,
       COUNT(f.task_id) AS tasks_solved,
       r.n_tasks,
       ROUND(1.0 * COUNT(f.task_id) / NULLIF(r.n_tasks, 0), 3) AS solve_rate
FROM run_summary r
CROSS JOIN budgets b
LEFT JOIN first_hit f ON f.run_id = r.run_id AND f.predictions_needed <= b.budget
GROUP BY r.run_id, b.budget, r.n_tasks
ORDER BY r.run_id, b.budget;

-- Q: Best program per task: test-correct first, then most train grids right, then the earliest.
SELECT run_id, task_id, sample_index, epoch, correct_train_grids, test_correct, code
FROM (
    SELECT pl.*,
           ROW_NUMBER() OVER (PARTITION BY pl.run_id, pl.task_id
                              ORDER BY CASE WHEN pl.test_correct THEN 0 ELSE 1 END,
                                       pl.correct_train_grids DESC, pl.sample_index) AS best
    FROM prediction_log pl
) ranked
WHERE best = 1
ORDER BY run_id, task_id;

-- Q: Time split per phase: where does each run spend its time (sampling, executing, training)?
SELECT run_id,
       SUM(sample_s) AS sample_s,
       SUM(execute_s) AS execute_s,
       SUM(train_s) AS train_s,
       ROUND(CAST(SUM(train_s) / NULLIF(SUM(sample_s + execute_s + train_s), 0) AS NUMERIC), 3) AS train_fraction
FROM epoch_stats
GROUP BY run_id
ORDER BY run_id;

-- Q: Leaderboard: runs by score, with what they spent.
SELECT run_id, name, score, n_solved, n_tasks, n_failed, predictions, worker_seconds
FROM run_summary
ORDER BY score DESC, run_id;

-- Q: Overfitting: tasks with programs that pass every train pair, yet a score below 1.
SELECT run_id, task_id, passes_train, score
FROM task_results
WHERE passes_train > 0 AND (score IS NULL OR score < 1)
ORDER BY run_id, task_id;

-- Q: Output diversity per epoch: valid and distinct outputs summed over each run's tasks.
SELECT run_id, epoch,
       SUM(predictions) AS predictions,
       SUM(valid_outputs) AS valid_outputs,
       SUM(unique_outputs) AS unique_outputs
FROM epoch_stats
GROUP BY run_id, epoch
ORDER BY run_id, epoch;


-- Learning from history (`arcfarm learn`, arcfarm/db/reads.py history_programs): which recorded
-- programs become training examples. These read tables, not views (the views lack each
-- program's augmentation, response and train outputs); neither reads `solutions`,
-- predictions.test_outputs nor predictions.test_correct. Each program is then relabeled as a
-- correct solution of the task its own train outputs define. Each policy starts with a "-- L:"
-- line; tests/db/test_history_selection.py checks the text equals what the code runs.
-- :run_ids is a list (SQLAlchemy's expanding parameter); in psql write IN (3, 4).

-- L: top<k>: per task, the k best distinct outputs (one program per output fingerprint, the
-- shortest), ranked by correct train grids, then shorter code. E.g. :k = 8 for top8.
WITH valid AS (
    SELECT j.task_pk, p.id AS prediction_id, p.augmentation, p.response, p.code, p.train_outputs,
           p.train_correct, p.output_fingerprint,
           ROW_NUMBER() OVER (PARTITION BY j.task_pk, p.output_fingerprint
                              ORDER BY LENGTH(p.code), p.id) AS nth_of_output
    FROM predictions p JOIN jobs j ON j.id = p.job_id
    WHERE j.run_id IN :run_ids AND p.output_fingerprint IS NOT NULL
), ranked AS (
    SELECT v.*, ROW_NUMBER() OVER (PARTITION BY v.task_pk
                                   ORDER BY v.train_correct DESC, LENGTH(v.code), v.prediction_id) AS task_rank
    FROM valid v WHERE v.nth_of_output = 1
)
SELECT t.task_id, t.task_json, r.prediction_id, r.augmentation, r.response, r.train_outputs,
       r.train_correct, r.output_fingerprint, r.task_rank
FROM ranked r JOIN tasks t ON t.id = r.task_pk
WHERE r.task_rank <= :k
ORDER BY t.task_id, r.task_pk, r.task_rank;

-- L: passing: per task, every distinct output of a program that passes all train pairs,
-- shortest code first.
WITH passing AS (
    SELECT j.task_pk, p.id AS prediction_id, p.augmentation, p.response, p.code, p.train_outputs,
           p.train_correct, p.output_fingerprint,
           ROW_NUMBER() OVER (PARTITION BY j.task_pk, p.output_fingerprint
                              ORDER BY LENGTH(p.code), p.id) AS nth_of_output
    FROM predictions p JOIN jobs j ON j.id = p.job_id
    WHERE j.run_id IN :run_ids AND p.output_fingerprint IS NOT NULL AND p.passes_train
), ranked AS (
    SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.task_pk
                                   ORDER BY LENGTH(s.code), s.prediction_id) AS task_rank
    FROM passing s WHERE s.nth_of_output = 1
)
SELECT t.task_id, t.task_json, r.prediction_id, r.augmentation, r.response, r.train_outputs,
       r.train_correct, r.output_fingerprint, r.task_rank
FROM ranked r JOIN tasks t ON t.id = r.task_pk
ORDER BY t.task_id, r.task_pk, r.task_rank;
