/// The small Python program that runs a plan script on DuckDB (the `duckdb` package) or Apache Spark (through
/// `spark-submit`, local or on a cluster) and writes the result tables as CSV files for idaudit to read.
///
/// Python because both engines ship their client there (DuckDB's package, PySpark); idaudit writes this text to a
/// temporary file and runs it. It prints one line `idaudit-engine-error: ...` and exits 3 on a failure.
enum EngineRunner {
    static let source = #"""
    import csv, json, os, sys, time, traceback

    def fail(message):
        sys.stderr.write("idaudit-engine-error: " + " ".join(str(message).split())[:2000] + "\n")
        sys.exit(3)

    def progress(message):
        sys.stderr.write("idaudit-progress: " + message + "\n")
        sys.stderr.flush()

    def uncaught(kind, value, tb):
        where = traceback.extract_tb(tb)[-1] if tb else None
        fail("%s: %s%s" % (kind.__name__, value, " (runner line %d)" % where.lineno if where else ""))
    sys.excepthook = uncaught

    args = json.load(open(sys.argv[1]))
    engine = args["engine"]
    out = args["out"]
    target = args["target"]
    queries = args["results"]

    def export_file(directory, table):
        for name in (table + ".parquet", table, table + ".csv", table + ".csv.gz"):
            path = os.path.join(directory, name)
            if os.path.exists(path):
                if name.endswith(".parquet") or (os.path.isdir(path) and any(f.endswith(".parquet") for f in os.listdir(path))):
                    return path, "parquet"
                if os.path.isdir(path):
                    continue
                return path, "csv"
        fail("%s: no %s.csv, .csv.gz or .parquet in the export folder" % (directory, table))

    def open_bytes(path):
        if path.endswith(".gz"):
            import gzip
            return gzip.open(path, "rb")
        return open(path, "rb")

    def csv_head(path):
        """The columns as the store names them: the header record (RFC 4180, a UTF-8 byte order mark skipped), each
        name trimmed and lower-cased, a name that comes again renamed so the first one is the one read; and how that
        record ends, CRLF or LF (stated to Spark, which reads one or the other)."""
        with open_bytes(path) as f:
            head = f.read(1 << 20)
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        end = head.find(b"\n")
        line = head if end < 0 else head[:end]
        separator = "\r\n" if line.endswith(b"\r") else "\n"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            fail("%s:1: the header is not valid UTF-8" % path)
        if not text.strip():
            fail("%s: empty file: no header row" % path)
        names, seen = [], set()
        for index, name in enumerate(next(csv.reader([text.rstrip("\r")]))):
            name = name.strip().lower()
            if name in seen:
                name = "idaudit_repeated_%d_%s" % (index, name)
            seen.add(name)
            names.append(name)
        return names, separator

    def sql_text(value):
        """A Spark SQL string literal."""
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def write_csv(name, header, rows):
        path = os.path.join(out, name + ".csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            n = 0
            last = time.time()
            for row in rows:
                w.writerow(["" if v is None else ("true" if v is True else "false" if v is False else v) for v in row])
                n += 1
                if n % 10000 == 0 and time.time() - last >= 5:
                    last = time.time()
                    progress("reading %s: %d rows" % (name, n))
        return n

    def cursor_rows(cur, cell=None):
        """A DB-API cursor's rows, 10,000 at a time (the client holds one batch), each value through `cell`."""
        while True:
            chunk = cur.fetchmany(10000)
            if not chunk:
                return
            for row in chunk:
                yield row if cell is None else tuple(cell(v) for v in row)

    started = time.time()
    if engine == "duckdb":
        try:
            import duckdb
        except ImportError:
            fail("the duckdb Python package is not installed (pip install duckdb)")
        con = duckdb.connect(args.get("database") or ":memory:")
        if args.get("threads"):
            con.execute("SET threads = %d" % int(args["threads"]))
        if args.get("export"):
            schema = args["source_schema"]
            con.execute('CREATE SCHEMA IF NOT EXISTS "%s"' % schema)
            for table in ("id_graph_updates", "external_id_mapping_updates"):
                path, kind = export_file(args["export"], table)
                quoted = path.replace("'", "''")
                if kind == "parquet":
                    reader = "read_parquet('%s')" % (quoted + ("/*.parquet" if os.path.isdir(path) else ""))
                else:
                    # Every option stated, nothing sniffed: the store's reading (RFC 4180: `"` quotes and is doubled
                    # inside quotes, `,` separates, the first record names the columns, every field is text, a
                    # quoted empty field is empty, not NULL). The line ending is left to DuckDB, which reads LF and
                    # CRLF as the store does (and refuses a file that mixes them); stating either one makes DuckDB
                    # read a file of the other kind as no rows at all.
                    names, _ = csv_head(path)
                    columns = "{" + ", ".join("'%s': 'VARCHAR'" % n.replace("'", "''") for n in names) + "}"
                    reader = (
                        "read_csv('%s', auto_detect = false, header = true, delim = ',', quote = '\"', "
                        "escape = '\"', columns = %s, compression = '%s', encoding = 'utf-8', skip = 0, "
                        "strict_mode = true, null_padding = false, allow_quoted_nulls = false, ignore_errors = false, "
                        "max_line_size = 16777216)"
                        % (quoted, columns, "gzip" if path.endswith(".gz") else "none"))
                con.execute('CREATE OR REPLACE VIEW "%s".%s AS SELECT * FROM %s' % (schema, table, reader))
        def run(sql):
            return con.execute(sql)
        def fetch(sql, table):
            cur = con.execute(sql)
            return [d[0] for d in cur.description], cursor_rows(cur)
    elif engine == "spark":
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            fail("pyspark is not installed (pip install pyspark; Java 17 or later)")
        builder = SparkSession.builder.appName("idaudit")
        for key, value in args.get("conf", {}).items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        if args.get("export"):
            schema = args["source_schema"]
            spark.sql("CREATE DATABASE IF NOT EXISTS `%s`" % schema)
            for table in ("id_graph_updates", "external_id_mapping_updates"):
                path, kind = export_file(args["export"], table)
                for drop in ("DROP VIEW IF EXISTS `%s`.%s", "DROP TABLE IF EXISTS `%s`.%s"):
                    for name in (table, table + "_idaudit_file"):
                        try:
                            spark.sql(drop % (schema, name))
                        except Exception:
                            pass
                if kind == "parquet":
                    spark.sql("CREATE TABLE `%s`.%s USING parquet OPTIONS (path %s)" % (schema, table, sql_text(path)))
                    continue
                # Every option stated, nothing sniffed or inferred: the store's reading (RFC 4180, every field
                # text, whitespace kept, a malformed record stops the run). Spark reads one line separator, the
                # one the file's first record ends with.
                columns, separator = csv_head(path)
                options = {
                    "path": path, "header": "true", "sep": ",", "quote": '"', "escape": '"', "multiLine": "true",
                    "lineSep": separator, "mode": "FAILFAST", "inferSchema": "false", "enforceSchema": "true",
                    "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false",
                    "unescapedQuoteHandling": "RAISE_ERROR", "encoding": "UTF-8", "nullValue": "", "emptyValue": "",
                    "maxCharsPerColumn": "-1", "compression": "gzip" if path.endswith(".gz") else "none",
                }
                listed = ", ".join("`%s` %s" % (k, sql_text(v)) for k, v in options.items())
                # The columns named as the store names them (the header record is skipped, not read for names).
                schema_text = ", ".join("`%s` STRING" % c.replace("`", "``") for c in columns)
                spark.sql("CREATE TABLE `%s`.%s_idaudit_file (%s) USING csv OPTIONS (%s)"
                          % (schema, table, schema_text, listed))
                # Spark decodes malformed UTF-8 as U+FFFD, where the store refuses the row: a value holding U+FFFD
                # stops the run when it is read.
                def checked(c):
                    q = "`%s`" % c.replace("`", "``")
                    message = sql_text("idaudit: %s: a %s value is not valid UTF-8 (or holds U+FFFD)" % (path, c.upper()))
                    return "CASE WHEN instr(%s, '\\uFFFD') > 0 THEN raise_error(%s) ELSE %s END AS %s" % (q, message, q, q)
                selected = [checked(c) for c in columns]
                if separator == "\n":
                    # A record that ends in CRLF in a file whose first ends in LF keeps the CR in its last field,
                    # where the store drops it: such a file is refused when its last field is read.
                    last = "`%s`" % columns[-1].replace("`", "``")
                    selected[-1] = (
                        "CASE WHEN endswith(%s, '\\r') THEN raise_error(%s) ELSE (%s) END AS %s"
                        % (last, sql_text("idaudit: %s: a record ends in CRLF but the first one ends in LF: "
                                          "write the file with one line ending" % path),
                           selected[-1].rsplit(" AS ", 1)[0], last))
                spark.sql("CREATE VIEW `%s`.%s AS SELECT %s FROM `%s`.%s_idaudit_file"
                          % (schema, table, ", ".join(selected), schema, table))
        def run(sql):
            return spark.sql(sql).collect()
        def fetch(sql, table):
            # The driver holds one partition at a time (toLocalIterator), so the sort's partitions are kept small
            # (about 50,000 rows, never coalesced): the driver's memory does not grow with the plan.
            total = spark.table(table).count()
            spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")
            spark.conf.set("spark.sql.shuffle.partitions", str(max(1, total // 50000 + 1)))
            df = spark.sql(sql)
            return df.columns, (tuple(r) for r in df.toLocalIterator(prefetchPartitions=False))
    elif engine == "clickhouse":
        try:
            from chdb import session as chdb_session
        except ImportError:
            fail("the chdb Python package is not installed (pip install chdb)")
        import tempfile
        scratch = None
        if args.get("database"):
            con = chdb_session.Session(args["database"])
        else:
            scratch = tempfile.mkdtemp(prefix="idaudit-chdb-", dir=out)
            con = chdb_session.Session(scratch)
        def ch_text(value):
            """A ClickHouse string literal."""
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        if args.get("export"):
            schema = args["source_schema"]
            con.query("CREATE DATABASE IF NOT EXISTS `%s`" % schema)
            for table in ("id_graph_updates", "external_id_mapping_updates"):
                path, kind = export_file(args["export"], table)
                con.query("DROP VIEW IF EXISTS `%s`.%s" % (schema, table))
                if kind == "parquet":
                    source = "file(%s, 'Parquet')" % ch_text(path + ("/*.parquet" if os.path.isdir(path) else ""))
                    # Names as the store reads them: lower-cased (ClickHouse's are case-sensitive), the first of
                    # a repeated name kept.
                    described = str(con.query("DESCRIBE %s" % source, "TabSeparated"))
                    picked, seen = [], set()
                    for line in described.split("\n"):
                        name = line.split("\t")[0]
                        if name and name.strip().lower() not in seen:
                            seen.add(name.strip().lower())
                            picked.append("`%s` AS `%s`" % (name.replace("`", "``"), name.strip().lower().replace("`", "``")))
                    con.query("CREATE VIEW `%s`.%s AS SELECT %s FROM %s" % (schema, table, ", ".join(picked), source))
                    continue
                # Every option stated, nothing sniffed: the store's reading (RFC 4180, every field text as its bytes,
                # whitespace kept, `\N` a value like any other, the header record skipped and the columns named as
                # the store names them, by position; a malformed record stops the run).
                columns, _ = csv_head(path)
                structure = ", ".join("`%s` String" % c.replace("`", "``") for c in columns)
                settings = ", ".join([
                    "format_csv_delimiter = ','", "format_csv_allow_double_quotes = 1",
                    "format_csv_allow_single_quotes = 0", "input_format_csv_trim_whitespaces = 0",
                    "format_csv_null_representation = ''", "input_format_with_names_use_header = 0",
                    "input_format_csv_detect_header = 0", "input_format_csv_skip_first_lines = 0",
                    "input_format_csv_allow_variable_number_of_columns = 0", "input_format_allow_errors_num = 0",
                    "input_format_allow_errors_ratio = 0", "input_format_csv_allow_whitespace_or_tab_as_delimiter = 0",
                    "input_format_csv_empty_as_default = 0", "input_format_csv_use_default_on_bad_values = 0",
                    "input_format_parallel_parsing = 0",
                ])
                # ClickHouse keeps bytes; the store refuses a value that is not UTF-8.
                checks = " AND ".join(
                    "throwIf(NOT isValidUTF8(`%s`), %s) = 0"
                    % (c.replace("`", "``"), ch_text("idaudit: %s: a %s value is not valid UTF-8" % (path, c.upper())))
                    for c in columns)
                con.query("CREATE VIEW `%s`.%s AS SELECT * FROM file(%s, 'CSVWithNames', %s, %s) WHERE %s SETTINGS %s"
                          % (schema, table, ch_text(path), ch_text(structure),
                             ch_text("gzip" if path.endswith(".gz") else "none"), checks, settings))
        def run(sql):
            return con.query(sql)
        def fetch(sql, table):
            # The rows stream from the engine in ClickHouse's own CSV (a NULL written as an empty field), which is
            # parsed back into rows for the one writer.
            # The names from a description (an empty result streams no header at all).
            described = str(con.query("DESCRIBE (%s)" % sql, "TabSeparated"))
            header = [line.split("\t")[0] for line in described.split("\n") if line]
            stream = con.send_query(sql + " SETTINGS format_csv_null_representation = ''", "CSV")
            def lines():
                pending = b""
                for chunk in stream:
                    data = chunk.bytes() if hasattr(chunk, "bytes") else bytes(chunk)
                    pending += data
                    cut = pending.rfind(b"\n")
                    if cut < 0:
                        continue
                    # Split at LF only: a value may hold CR, NEL or LS, which str.splitlines would split at.
                    for line in pending[:cut].decode("utf-8").split("\n"):
                        yield line + "\n"
                    pending = pending[cut + 1:]
                if pending:
                    yield pending.decode("utf-8")
            return header, csv.reader(lines())
    elif engine == "snowflake":
        try:
            import snowflake.connector
        except ImportError:
            fail("the Snowflake connector is not installed (pip install snowflake-connector-python)")
        if args.get("export"):
            fail("--source snowflake reads the tables in Snowflake; --export is for duckdb, clickhouse and spark")
        # The connector's own settings: SNOWFLAKE_* variables (a password, a key pair, OAuth, a token), or a named or
        # the default connection of ~/.snowflake/connections.toml. Never the command line.
        settings = {}
        for key in ("account", "user", "password", "authenticator", "token", "private_key_file",
                    "private_key_file_pwd", "role", "warehouse", "database", "host"):
            value = os.environ.get("SNOWFLAKE_" + key.upper())
            if value:
                settings[key] = value
        if os.environ.get("SNOWFLAKE_CONNECTION_NAME"):
            settings["connection_name"] = os.environ["SNOWFLAKE_CONNECTION_NAME"]
        try:
            con = snowflake.connector.connect(**settings)
        except Exception as e:
            fail("cannot connect to Snowflake (set SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and SNOWFLAKE_PASSWORD or "
                 "SNOWFLAKE_PRIVATE_KEY_FILE, or name a connection of ~/.snowflake/connections.toml with "
                 "SNOWFLAKE_CONNECTION_NAME): %s" % " ".join(str(e).split())[:300])
        cur = con.cursor()
        import decimal
        def cell(v):
            # NUMBER comes back as Decimal (or float): an integer is written as one.
            if isinstance(v, (float, decimal.Decimal)) and v == int(v):
                return str(int(v))
            return v
        def run(sql):
            cur.execute(sql)
        def fetch(sql, table):
            cur.execute(sql)
            return [d[0].lower() for d in cur.description], cursor_rows(cur, cell)
    else:
        fail("unknown engine " + engine)

    def choose_statements(columns_of):
        """The script variant for the columns the mapping table has; a missing required column is named."""
        source = args["source_schema"]
        found = {}
        for table in ("id_graph_updates", "external_id_mapping_updates"):
            try:
                found[table] = set(c.lower() for c in columns_of(source, table))
            except Exception as e:
                fail("table %s.%s not found or not readable (%s)" % (source, table, " ".join(str(e).split())[:300]))
        for table, required in args["required"].items():
            for column in required:
                if column not in found[table]:
                    fail("column %s missing from %s.%s" % (column, source, table))
        mapping = found["external_id_mapping_updates"]
        key = (("op" if "__operation" in mapping else "") + ("+received" if "received_at" in mapping else "")
               + ("+graphtime" if "timestamp" in found["id_graph_updates"] else ""))
        return args["variants"][key]

    if engine == "duckdb":
        def columns_of(schema, table):
            return [d[0] for d in con.execute('SELECT * FROM "%s".%s LIMIT 0' % (schema, table)).description]
    elif engine == "snowflake":
        def columns_of(schema, table):
            cur.execute("SELECT * FROM %s.%s LIMIT 0" % (schema, table))
            return [d[0] for d in cur.description]
    elif engine == "clickhouse":
        def columns_of(schema, table):
            text = str(con.query("SELECT name FROM system.columns WHERE database = %s AND table = %s ORDER BY position"
                                 % (ch_text(schema), ch_text(table)), "TabSeparated"))
            names = [n for n in text.split("\n") if n]
            if not names:
                raise Exception("no such table")
            return names
    else:
        def columns_of(schema, table):
            return spark.table("`%s`.%s" % (schema, table)).columns
    statements = choose_statements(columns_of)

    try:
        for index, sql in enumerate(statements):
            t = time.time()
            progress("statement %d of %d" % (index + 1, len(statements)))
            run(sql)
            if args.get("trace"):
                sys.stderr.write("statement %d: %.2f s\n" % (index + 1, time.time() - t))
        counts = {}
        for name, sql in queries:
            header, rows = fetch(sql, "%s.%s" % (target, name))
            counts[name] = write_csv(name, header, rows)
    except SystemExit:
        raise
    except Exception as e:
        text = str(e)
        stop = text.find("string 'idaudit-stop:")
        if stop >= 0:
            # ClickHouse quotes the script's message in a cast's error, backslash-escaped, up to its closing quote
            # (the statement it echoes after holds the marker too, as written in the script).
            message, i = [], stop + len("string 'idaudit-stop:")
            escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "a": "\a", "v": "\v"}
            while i < len(text) and text[i] != "'":
                if text[i] == "\\" and i + 1 < len(text):
                    message.append(escapes.get(text[i + 1], text[i + 1]))
                    i += 2
                else:
                    message.append(text[i])
                    i += 1
            fail("".join(message))
        if engine == "clickhouse":
            # The message, then where it ran and the statement (which may quote the script's messages).
            text = text.split(": while executing")[0].split(" In scope ")[0]
        if engine == "snowflake":
            # The script stops with TO_NUMBER(message): Snowflake says "Numeric value '...' is not recognized";
            # DuckDB under fakesnow 'Could not convert string "..." to DECIMAL'.
            text = " ".join(text.split())
            marker = text.find("idaudit:")
            if marker >= 0:
                rest = text[marker:]
                for end in ("' is not recognized", '" to '):
                    if end in rest:
                        rest = rest[:rest.rfind(end)]
                        break
                fail(rest)
        marker = text.find("idaudit:")
        if marker >= 0:
            # The script's own message, as the engine quotes it: DuckDB as it is, Spark with its SQLSTATE after it.
            import re
            fail(re.sub(r"\s*(SQLSTATE: \w+)?\s*$", "", text[marker:].split("\n")[0]))
        fail(text.strip().split("\n")[0] if text.strip() else traceback.format_exc().strip().split("\n")[-1])
    json.dump({"seconds": time.time() - started, "rows": counts}, open(os.path.join(out, "engine.json"), "w"))
    """#
}
