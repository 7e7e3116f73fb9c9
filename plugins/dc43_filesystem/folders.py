"""Moving and deleting a sink's folders from where a micro-batch is published.

On classic Spark (local or a cluster's driver) this is Hadoop's ``FileSystem``, through
py4j: every scheme Spark is configured for.  On Spark Connect no JVM is in reach from the
Python process that runs ``foreachBatch`` (on the server's host), so it is ``pyarrow.fs``:
absolute local paths and ``file:``, ``s3:``, ``gs:``, ``hdfs:`` and ``abfs:`` URIs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from dc43.errors import Dc43Error, InvalidArgumentError
from dc43.spark.topology import is_connect

ARROW_SCHEMES = ("file", "s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss")


class HadoopFolders:
    """Folders through the session's Hadoop ``FileSystem`` (classic Spark)."""

    def __init__(self, spark: Any) -> None:
        context = spark.sparkContext
        self._jvm, self._conf = context._jvm, context._jsc.hadoopConfiguration()

    def _at(self, location: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(location)
        return path.getFileSystem(self._conf), path

    def exists(self, location: str) -> bool:
        fs, path = self._at(location)
        return bool(fs.exists(path))

    def delete(self, location: str) -> None:
        fs, path = self._at(location)
        fs.delete(path, True)

    def move(self, source: str, destination: str) -> None:
        fs, src = self._at(source)
        _, dst = self._at(destination)
        fs.mkdirs(dst.getParent())
        if not fs.rename(src, dst):
            raise Dc43Error(f"could not move {source} to {destination}; check the sink folder's permissions")


class ArrowFolders:
    """Folders through ``pyarrow.fs`` (Spark Connect, where there is no JVM to ask)."""

    def _at(self, location: str) -> tuple[Any, str]:
        from pyarrow import fs

        return fs.FileSystem.from_uri(location)

    def exists(self, location: str) -> bool:
        from pyarrow import fs

        filesystem, path = self._at(location)
        return filesystem.get_file_info(path).type != fs.FileType.NotFound

    def delete(self, location: str) -> None:
        if self.exists(location):
            filesystem, path = self._at(location)
            filesystem.delete_dir(path)

    def move(self, source: str, destination: str) -> None:
        filesystem, src = self._at(source)
        _, dst = self._at(destination)
        filesystem.create_dir(dst.rsplit("/", 1)[0], recursive=True)
        filesystem.move(src, dst)


def folders_for(spark: Any) -> HadoopFolders | ArrowFolders:
    return ArrowFolders() if is_connect(spark) else HadoopFolders(spark)


def check_publishable(spark: Any, path: str, format_name: str) -> None:
    """On Spark Connect, ``path`` must be one ``pyarrow.fs`` reaches the same way Spark does."""
    if not is_connect(spark):
        return
    scheme = urlparse(path).scheme
    if scheme and scheme not in ARROW_SCHEMES:
        raise InvalidArgumentError(
            f"format '{format_name}' publishes each micro-batch by moving its staged folder; on Spark "
            f"Connect that happens in Python with pyarrow.fs, which cannot reach '{scheme}:' paths "
            f"({path}). Use one of {', '.join(s + ':' for s in ARROW_SCHEMES)} or an absolute local path, "
            "or run the write on classic Spark")
    if not scheme and not path.startswith("/"):
        raise InvalidArgumentError(
            f"format '{format_name}' needs an absolute path on Spark Connect, got '{path}': the server "
            "resolves relative paths against its own working directory. Pass an absolute path or a URI")
