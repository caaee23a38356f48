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

    def write_csv(name, header, rows):
        path = os.path.join(out, name + ".csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            n = 0
            for row in rows:
                w.writerow(["" if v is None else ("true" if v is True else "false" if v is False else v) for v in row])
                n += 1
        return n

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
                    reader = "read_csv('%s', header = true, all_varchar = true)" % quoted
                con.execute('CREATE OR REPLACE VIEW "%s".%s AS SELECT * FROM %s' % (schema, table, reader))
        def run(sql):
            return con.execute(sql)
        def fetch(sql):
            cur = con.execute(sql)
            header = [d[0] for d in cur.description]
            def rows():
                while True:
                    chunk = cur.fetchmany(10000)
                    if not chunk:
                        return
                    for row in chunk:
                        yield row
            return header, rows()
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
                spark.sql("DROP TABLE IF EXISTS `%s`.%s" % (schema, table))
                options = "OPTIONS (path '%s'%s)" % (path.replace("'", "\\'"), ", header 'true'" if kind == "csv" else "")
                spark.sql("CREATE TABLE `%s`.%s USING %s %s" % (schema, table, kind, options))
        def run(sql):
            return spark.sql(sql).collect()
        def fetch(sql):
            df = spark.sql(sql)
            return df.columns, (tuple(r) for r in df.toLocalIterator())
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
        key = ("op" if "__operation" in mapping else "") + ("+received" if "received_at" in mapping else "")
        return args["variants"][key]

    if engine == "duckdb":
        def columns_of(schema, table):
            return [d[0] for d in con.execute('SELECT * FROM "%s".%s LIMIT 0' % (schema, table)).description]
    else:
        def columns_of(schema, table):
            return spark.table("`%s`.%s" % (schema, table)).columns
    statements = choose_statements(columns_of)

    try:
        for index, sql in enumerate(statements):
            t = time.time()
            run(sql)
            if args.get("trace"):
                sys.stderr.write("statement %d: %.2f s\n" % (index + 1, time.time() - t))
        counts = {}
        for name, sql in queries:
            header, rows = fetch(sql)
            counts[name] = write_csv(name, header, rows)
    except SystemExit:
        raise
    except Exception as e:
        text = str(e)
        marker = text.find("idaudit:")
        if marker >= 0:
            fail(text[marker:].split("\n")[0].rstrip("'\"). "))
        fail(text.strip().split("\n")[0] if text.strip() else traceback.format_exc().strip().split("\n")[-1])
    json.dump({"seconds": time.time() - started, "rows": counts}, open(os.path.join(out, "engine.json"), "w"))
    """#
}
