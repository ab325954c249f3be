// Fashion-MNIST from Debian's dataset-fashion-mnist: four gzip-compressed IDX files. LibTorch's
// MNIST reader wants them uncompressed and rejects subsets, so we read IDX ourselves.
#include <zlib.h>

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/check.h"
#include "programs/data.h"

namespace dynfault::programs {
namespace {

constexpr uint32_t kImageMagic = 2051;  // IDX: unsigned byte, 3 dimensions
constexpr uint32_t kLabelMagic = 2049;  // IDX: unsigned byte, 1 dimension
constexpr int64_t kNumClasses = 10;

/// One decoded IDX file: its dimensions and the payload after the header.
struct IdxArray {
  std::vector<int64_t> dims;
  std::shared_ptr<const std::vector<unsigned char>> bytes;  ///< the whole file
  size_t offset = 0;                                        ///< where the payload starts
  const unsigned char* data() const { return bytes->data() + offset; }
  size_t size() const { return bytes->size() - offset; }
};

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("Fashion-MNIST file '" + path +
                "' cannot be opened; install the Debian package dataset-fashion-mnist "
                "(apt-get install dataset-fashion-mnist) or point DYNFAULT_FASHION_MNIST_DIR "
                "at a directory holding the gzip IDX files");
  in.seekg(0, std::ios::end);
  std::vector<unsigned char> bytes(static_cast<size_t>(in.tellg()));
  in.seekg(0, std::ios::beg);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  DYNFAULT_CHECK(in.good() || bytes.empty(), "Fashion-MNIST file '", path, "' cannot be read");
  return bytes;
}

std::vector<unsigned char> gunzip(const std::vector<unsigned char>& gz, const std::string& path) {
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header (not a raw zlib stream).
  DYNFAULT_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "zlib cannot inflate '", path, "'");
  std::vector<unsigned char> out(gz.size() * 2 + 1024);
  zs.next_in = const_cast<unsigned char*>(gz.data());
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (zs.total_out == out.size()) out.resize(out.size() * 2);
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
  }
  const size_t n = zs.total_out;
  const std::string msg = zs.msg != nullptr ? zs.msg : "truncated or corrupt";
  inflateEnd(&zs);
  DYNFAULT_CHECK(rc == Z_STREAM_END, "Fashion-MNIST file '", path, "' is not valid gzip: ", msg);
  out.resize(n);
  return out;
}

using Bytes = std::shared_ptr<const std::vector<unsigned char>>;

/// Decompressed contents of the gzip file at `path`. A worker process trains many runs, so the
/// last decompressed copy of each file is kept; it is reused only when the compressed bytes
/// are identical (reading and comparing them costs far less than inflating 47 MB again).

Bytes gunzip_file(const std::string& path) {
  struct Entry {
    std::vector<unsigned char> compressed;
    Bytes data;
  };
  static std::mutex mutex;
  static std::map<std::string, Entry> cache;
  std::vector<unsigned char> gz = read_file(path);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(path);
  if (it != cache.end() && it->second.compressed == gz) return it->second.data;
  Bytes data = std::make_shared<const std::vector<unsigned char>>(gunzip(gz, path));
  cache[path] = Entry{std::move(gz), data};
  return data;
}

uint32_t read_be32(const std::vector<unsigned char>& b, size_t at) {
  return (static_cast<uint32_t>(b[at]) << 24) | (static_cast<uint32_t>(b[at + 1]) << 16) |
         (static_cast<uint32_t>(b[at + 2]) << 8) | static_cast<uint32_t>(b[at + 3]);
}

/// Reads a gzip IDX file and checks magic, dimension count and that the payload size matches the
/// header exactly (a truncated download or a wrong file is an error, not silent garbage).
IdxArray read_idx_gz(const std::string& path, uint32_t expected_magic, size_t expected_rank) {
  IdxArray a;
  a.bytes = gunzip_file(path);
  const std::vector<unsigned char>& bytes = *a.bytes;
  const size_t header = 4 + 4 * expected_rank;
  DYNFAULT_CHECK(bytes.size() >= 4, "IDX file '", path, "' is too short (", bytes.size(),
                 " bytes)");
  const uint32_t magic = read_be32(bytes, 0);
  DYNFAULT_CHECK(magic == expected_magic, "IDX file '", path, "' has magic number ", magic,
                 ", expected ", expected_magic);
  DYNFAULT_CHECK(bytes.size() >= header, "IDX file '", path, "' has a truncated header");
  size_t payload = 1;
  for (size_t i = 0; i < expected_rank; ++i) {
    const uint32_t d = read_be32(bytes, 4 + 4 * i);
    DYNFAULT_CHECK(d > 0, "IDX file '", path, "' has dimension ", i, " of size 0");
    a.dims.push_back(d);
    payload *= d;
  }
  DYNFAULT_CHECK(bytes.size() == header + payload, "IDX file '", path, "' holds ",
                 bytes.size() - header, " data bytes, its header announces ", payload);
  a.offset = header;
  return a;
}

/// Reads one part (train or t10k), keeping only a stratified subset of `limit` samples so that
/// the float copy of the full 60k set (188 MB) is never built for a reduced program.
/// `as_sequence` gives each image the shape {H, W} (rows as time steps, as pytorch/examples
/// mnist_rnn reshapes it for its LSTM) instead of {1, H, W}; the pixels are the same.
Dataset read_part(const std::string& dir, const std::string& prefix, int64_t limit,
                  bool as_sequence) {
  const std::string images_path = dir + "/" + prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  const IdxArray labels = read_idx_gz(labels_path, kLabelMagic, 1);
  const IdxArray images = read_idx_gz(images_path, kImageMagic, 3);
  DYNFAULT_CHECK(images.dims[0] == labels.dims[0], "Fashion-MNIST '", images_path, "' holds ",
                 images.dims[0], " images but '", labels_path, "' holds ", labels.dims[0],
                 " labels");

  Dataset d;
  d.num_classes = kNumClasses;
  d.sample_shape = as_sequence ? std::vector<int64_t>{images.dims[1], images.dims[2]}
                               : std::vector<int64_t>{1, images.dims[1], images.dims[2]};
  d.y.reserve(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    DYNFAULT_CHECK(labels.data()[i] < kNumClasses, "Fashion-MNIST '", labels_path, "': label ",
                   static_cast<int>(labels.data()[i]), " of sample ", i, " is not in 0..9");
    d.y.push_back(static_cast<float>(labels.data()[i]));
  }
  const std::vector<int64_t> keep = stratified_indices(d, limit);
  const auto pixels = static_cast<size_t>(d.sample_numel());
  std::vector<float> y;
  y.reserve(keep.size());
  d.x.resize(keep.size() * pixels);
  for (size_t k = 0; k < keep.size(); ++k) {
    const auto i = static_cast<size_t>(keep[k]);
    const unsigned char* src = images.data() + i * pixels;
    float* dst = d.x.data() + k * pixels;
    // ToTensor()/255 scaling as in the Keras and d2l sources; standardisation is the pipeline's.
    for (size_t p = 0; p < pixels; ++p) dst[p] = static_cast<float>(src[p]) / 255.0f;
    y.push_back(d.y[i]);
  }
  d.y = std::move(y);
  return d;
}

DataSplit load_fashion_mnist(const DataSpec& spec, uint64_t /*seed*/) {
  const std::string dir = fashion_mnist_dir();
  DataSplit s;
  const bool as_sequence = data_param(spec, "as_sequence", 0.0) != 0.0;
  s.train = read_part(dir, "train", spec.train_limit, as_sequence);
  s.test = read_part(dir, "t10k", spec.test_limit, as_sequence);
  return s;
}

}  // namespace

DYNFAULT_REGISTER(data_loader_registry(), "fashion_mnist", load_fashion_mnist);

}  // namespace dynfault::programs
