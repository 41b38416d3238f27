"""Behavioural segments: K-means over recency, frequency, monetary and breadth.

Features are log1p-scaled then standardised; KMeans runs with a fixed random_state and n_init,
and clusters are relabelled 1..k by their centroids ordered by monetary, then frequency, then
recency (ascending), so the same data always gives the same segment ids. Persons without any
interaction are not clustered: they get segment 0 in int_persons.
"""

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

FEATURES = ["monetary", "event_count", "recency_days", "active_days", "source_count"]


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.config.get("meta")
    behaviour = dbt.ref("int_person_behaviour").df().sort_values("person_id", ignore_index=True)
    if behaviour.empty:
        # typed empty columns: an untyped empty column would become DuckDB's NULL type
        return pd.DataFrame({"person_id": pd.Series([], dtype="str"), "segment_id": pd.Series([], dtype="int32")})

    raw = behaviour[FEATURES].astype(float).to_numpy()
    scaled = StandardScaler().fit_transform(np.log1p(raw))
    k = min(int(params["segment_count"]), len(np.unique(scaled, axis=0)))
    kmeans = KMeans(
        n_clusters=k,
        random_state=int(params["segment_random_state"]),
        n_init=int(params["segment_n_init"]),
    ).fit(scaled)

    # centroid in original units per cluster; order by monetary, frequency, recency
    centroids = pd.DataFrame(raw, columns=FEATURES).groupby(kmeans.labels_).mean()
    ordered = centroids.sort_values(["monetary", "event_count", "recency_days"]).index
    relabel = {cluster: rank + 1 for rank, cluster in enumerate(ordered)}
    return pd.DataFrame(
        {
            "person_id": behaviour["person_id"].astype("str"),
            "segment_id": pd.Series(kmeans.labels_).map(relabel).astype("int32"),
        }
    )
