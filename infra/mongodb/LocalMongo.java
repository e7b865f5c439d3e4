// The local MongoDB wire-protocol store: mongo-java-server on its H2 MVStore backend (one file).
//
// Usage: java -cp '<classes>:<jars>' LocalMongo <port> <data file> <page cache in MB> <worker threads>
// The page cache matters: with H2's default of 16 MB every read deserialises pages from disk
// (an _id lookup took 31 ms in a 100,000-document collection; 6 ms with 512 MB).
// Worker threads matter too: a connection's commands run on its Netty event loop, so a command
// that waits (a long scan of a busy collection) stalls every connection sharing that loop, of
// any database. Many loops give each connection its own in practice (channels go round-robin).
// It announces MongoDB 5.0 (wire version 13): PyMongo 4.14+ refuses servers below wire version 9,
// and mongo-java-server's own default announces 8.

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import java.net.InetSocketAddress;
import java.util.List;
import org.h2.mvstore.MVStore;

public final class LocalMongo {
  private static final MongoVersion ANNOUNCED = new MongoVersion() {
    @Override public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
    @Override public int getWireVersion() { return 13; }
  };

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    MVStore store = new MVStore.Builder().fileName(args[1]).cacheSize(Integer.parseInt(args[2])).open();
    H2Backend backend = new H2Backend(store);
    backend.version(ANNOUNCED);
    MongoServer server = new MongoServer(backend);
    server.bind(new InetSocketAddress("127.0.0.1", port), 1, Integer.parseInt(args[3]));
    System.out.println("LocalMongo listening on 127.0.0.1:" + port + ", data " + args[1]);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdown();
      backend.close();
      System.out.println("LocalMongo stopped");
    }));
    Thread.currentThread().join();
  }
}
