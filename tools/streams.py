"""The table's stream on DynamoDB Local, read as Lambda reads it: each call to `StreamReader.batches`
returns what arrived since the last one, one Lambda-shaped DynamoDB stream event per shard and
GetRecords page, to hand to the same handler Lambda calls (`app.table_changes`). Used by the local
stack's stream task (`tools/jobs.py`), the tests and the benchmarks."""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]


class StreamReader:
    """Follows every shard of the table's latest stream from `start` (TRIM_HORIZON: everything still in
    the stream; LATEST: only what comes after the reader is made). Shards that appear later are read
    from their beginning. Expired iterators are taken again after the last record read."""

    def __init__(
        self, endpoint: str, table_name: str, start: str = "TRIM_HORIZON", region: str = "eu-central-2"
    ) -> None:
        import boto3

        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        self.client = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region, **credentials)
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region, **credentials)
        self.arn: str = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self.region = region
        self.iterators: dict[str, str | None] = {}  # None: a closed shard read to its end
        self.last: dict[str, str] = {}
        for shard in self._shards():
            self.iterators[shard] = self._iterator(shard, start)

    def _shards(self) -> list[str]:
        shards: list[str] = []
        start: dict[str, str] = {}
        while True:
            description = self.client.describe_stream(StreamArn=self.arn, **start)["StreamDescription"]
            shards += [shard["ShardId"] for shard in description.get("Shards", [])]
            if not description.get("LastEvaluatedShardId"):
                return shards
            start = {"ExclusiveStartShardId": description["LastEvaluatedShardId"]}

    def _iterator(self, shard: str, kind: str) -> str:
        position = {"SequenceNumber": self.last[shard]} if kind == "AFTER_SEQUENCE_NUMBER" else {}
        found = self.client.get_shard_iterator(StreamArn=self.arn, ShardId=shard, ShardIteratorType=kind, **position)
        return str(found["ShardIterator"])

    def batches(self, limit: int = 1000) -> list[Event]:
        """Every record that arrived since the last call, as Lambda events (one per shard page)."""
        for shard in self._shards():
            if shard not in self.iterators:
                self.iterators[shard] = self._iterator(shard, "TRIM_HORIZON")
        events: list[Event] = []
        for shard, iterator in self.iterators.items():
            while iterator is not None:
                try:
                    page = self.client.get_records(ShardIterator=iterator, Limit=limit)
                except self.client.exceptions.ExpiredIteratorException:
                    kind = "AFTER_SEQUENCE_NUMBER" if shard in self.last else "TRIM_HORIZON"
                    iterator = self._iterator(shard, kind)
                    continue
                records = page.get("Records", [])
                iterator = page.get("NextShardIterator")
                if records:
                    self.last[shard] = records[-1]["dynamodb"]["SequenceNumber"]
                    events.append({"Records": [self._lambda_record(record) for record in records]})
                else:
                    break
            self.iterators[shard] = iterator
        return events

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A GetRecords record as Lambda delivers it (epoch seconds, the stream's ARN, the region)."""
        body = dict(record["dynamodb"])
        body["ApproximateCreationDateTime"] = body["ApproximateCreationDateTime"].timestamp()
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "dynamodb": body,
            "eventSourceARN": self.arn,
        }
