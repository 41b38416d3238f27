import json

from xrec.publish.descriptions import load_descriptions


def test_dbt_docs_win_and_builtin_texts_fill_the_gaps(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.xrec.dim_item": {
                        "resource_type": "model",
                        "name": "dim_item",
                        "alias": "dim_item",
                        "description": "Every item, one catalogue.",
                        "columns": {"item_key": {"description": "source:item_id"}, "title": {"description": ""}},
                    },
                    "test.xrec.unique_dim_item": {
                        "resource_type": "test",
                        "name": "unique_dim_item",
                        "description": "x",
                    },
                },
                "sources": {
                    "source.xrec.outputs.model_runs": {
                        "name": "model_runs",
                        "identifier": "model_runs",
                        "description": "Training runs.",
                        "columns": {"primary_value": {"description": "Model's primary metric."}},
                    }
                },
            }
        )
    )
    docs = load_descriptions(manifest)

    assert docs.table("dim_item") == "Every item, one catalogue."
    assert docs.column("dim_item", "item_key") == "source:item_id"
    assert docs.column("dim_item", "title") == "title of dim_item (not yet documented in dbt)."
    assert docs.table("model_runs") == "Training runs."
    assert docs.column("model_runs", "run_date").startswith("Business date")
    assert "unique_dim_item" not in docs.tables


def test_missing_manifest_falls_back_to_builtin_descriptions(tmp_path):
    docs = load_descriptions(tmp_path / "absent.json")
    assert docs.table("cross_recommendations").startswith("Published cross-recommendations")
    assert docs.column("cross_recommendations", "direction").startswith("platform_to_partner")
