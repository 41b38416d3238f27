# The image every Airflow component of docker-compose.yml runs: Airflow's official image plus
# the pinned xrec requirements and the project itself.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt /opt/xrec/requirements.txt
RUN pip install --no-cache-dir -r /opt/xrec/requirements.txt
COPY --chown=airflow:root . /opt/xrec
RUN pip install --no-cache-dir --no-deps -e /opt/xrec
