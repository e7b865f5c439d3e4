// The local MongoDB wire-protocol store: mongo-java-server on its in-memory backend
// (FastPathBackend: direct field reads for flat equality queries and sorts).
//
// Usage: java -cp '<classes>:<jars>' LocalMongo <port> <worker threads>
//
// In memory, because its H2 backend costs about 1 ms of CPU per attempt log (documents are
// serialised on every write) against 50-100 us in memory: on 2 cores, H2 could not store logs at
// the rate the platform delivers them. Data survives a graceful stop through a snapshot that
// infra/mongodb_snapshot.py takes before the stop and loads after the next start.
//
// It announces MongoDB 5.0 (wire version 13): PyMongo 4.14+ refuses servers below wire version 9,
// and mongo-java-server's default announces 8.
//
// Worker threads: a connection's commands run on its Netty event loop, so a command that waits (a
// long scan of a busy collection) stalls every connection sharing that loop, of any database.
// Many loops give each connection its own in practice (channels are spread round-robin).

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import java.net.InetSocketAddress;
import java.util.List;

public final class LocalMongo {
  private static final MongoVersion ANNOUNCED = new MongoVersion() {
    @Override public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
    @Override public int getWireVersion() { return 13; }
  };

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    FastPathBackend backend = new FastPathBackend();
    backend.version(ANNOUNCED);
    MongoServer server = new MongoServer(backend);
    server.bind(new InetSocketAddress("127.0.0.1", port), 1, Integer.parseInt(args[1]));
    System.out.println("LocalMongo listening on 127.0.0.1:" + port);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdown();
      System.out.println("LocalMongo stopped");
    }));
    Thread.currentThread().join();
  }
}
