// Seeded stand-ins for the Keras text data sets (IMDB reviews, Reuters newswires), which have no
// offline copy. They keep the shapes and the preprocessing of the Keras examples (token ids
// left-padded with 0 to a fixed length; a binary bag of the most frequent words) and plant a
// learnable signal in a Zipf-distributed background vocabulary. The "language" (which words carry
// sentiment or topic) is fixed; the documents are drawn from the run's data seed.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/check.h"
#include "programs/data.h"

namespace dynfault::programs {
namespace {

/// Seed of the fixed vocabulary structure, shared by every run.
constexpr uint64_t kLanguageSeed = 0x1a96;
/// Keras' imdb/reuters loaders reserve 0 (padding), 1 (start) and 2 (out of vocabulary), and
/// start word ids at index_from = 3.
constexpr int64_t kFirstWord = 3;

/// Draws word ids kFirstWord..vocab-1 with probability proportional to 1 / rank (Zipf's law, as
/// word frequencies in text), by inverting the cumulative distribution.
class ZipfWords {
 public:
  explicit ZipfWords(int64_t vocab) : first_(kFirstWord) {
    double total = 0;
    for (int64_t r = 1; r <= vocab - kFirstWord; ++r) {
      total += 1.0 / static_cast<double>(r);
      cdf_.push_back(total);
    }
    for (double& c : cdf_) c /= total;
  }
  int64_t draw(Rng& rng) const {
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), rng.uniform());
    return first_ + std::min<int64_t>(it - cdf_.begin(), static_cast<int64_t>(cdf_.size()) - 1);
  }

 private:
  int64_t first_;
  std::vector<double> cdf_;
};

/// `count` distinct word ids per group for `groups` groups, from the mid-frequency band
/// [vocab / 20, vocab) of the vocabulary (frequent function words carry no signal), fixed by
/// kLanguageSeed.
std::vector<std::vector<int64_t>> signal_words(int64_t vocab, int64_t groups, int64_t count) {
  const int64_t lo = std::max<int64_t>(kFirstWord, vocab / 20);
  std::vector<int64_t> pool;
  for (int64_t w = lo; w < vocab; ++w) pool.push_back(w);
  DYNFAULT_CHECK(static_cast<int64_t>(pool.size()) >= groups * count, "vocabulary of ", vocab,
                 " words is too small for ", groups, " groups of ", count, " signal words");
  Rng rng(kLanguageSeed);
  rng.shuffle(pool);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g)
    out[static_cast<size_t>(g)].assign(pool.begin() + g * count, pool.begin() + (g + 1) * count);
  return out;
}

/// One review: a Zipf background in which each word is, with probability `signal`, a sentiment
/// word; a sentiment word matches the review's class with probability `agreement` (real reviews
/// mix praise and criticism). Lengths are uniform in [seq_len / 2, 2 seq_len]; as Keras'
/// pad_sequences, long reviews keep their last seq_len words and short ones are left-padded
/// with 0.
struct ReviewParams {
  int64_t vocab, seq_len;
  double signal, agreement;
};

Dataset make_reviews(Rng& rng, int64_t n, const ReviewParams& p, const ZipfWords& words,
                     const std::vector<std::vector<int64_t>>& sentiment) {
  Dataset d;
  d.num_classes = 2;
  d.integer_inputs = true;
  d.sample_shape = {p.seq_len};
  d.x.assign(static_cast<size_t>(n * p.seq_len), 0.0f);
  d.y.resize(static_cast<size_t>(n));
  std::vector<int64_t> review;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 2;  // interleaved, so every prefix is balanced
    const int64_t len =
        p.seq_len / 2 +
        static_cast<int64_t>(rng.below(static_cast<uint64_t>(2 * p.seq_len - p.seq_len / 2 + 1)));
    review.clear();
    for (int64_t t = 0; t < len; ++t) {
      if (rng.uniform() < p.signal) {
        const int64_t side = rng.uniform() < p.agreement ? c : 1 - c;
        const auto& group = sentiment[static_cast<size_t>(side)];
        review.push_back(group[rng.below(group.size())]);
      } else {
        review.push_back(words.draw(rng));
      }
    }
    const int64_t keep = std::min(len, p.seq_len);
    float* row = d.x.data() + i * p.seq_len;
    for (int64_t t = 0; t < keep; ++t)
      row[p.seq_len - keep + t] = static_cast<float>(review[static_cast<size_t>(len - keep + t)]);
    d.y[static_cast<size_t>(i)] = static_cast<float>(c);
  }
  return d;
}

/// IMDB-like binary sentiment over token ids {seq_len} (Keras imdb.load_data(num_words=vocab)
/// followed by pad_sequences(maxlen=seq_len)).
DataSplit load_imdb_tokens(const DataSpec& spec, uint64_t seed) {
  ReviewParams p;
  p.vocab = data_count_param(spec, "vocab", 2000);
  p.seq_len = data_count_param(spec, "seq_len", 80);
  p.signal = data_param(spec, "signal", 0.08);
  p.agreement = data_param(spec, "agreement", 0.8);
  DYNFAULT_CHECK(p.signal > 0 && p.signal < 1 && p.agreement > 0.5 && p.agreement <= 1,
                 "data set 'imdb_tokens': need 0 < signal < 1 and 0.5 < agreement <= 1");
  const ZipfWords words(p.vocab);
  const auto sentiment = signal_words(p.vocab, 2, data_count_param(spec, "sentiment_words", 20));
  Rng rng(seed);
  return generated_split(spec, rng, 2000, 500, [&](Rng& r, int64_t n) {
    return make_reviews(r, n, p, words, sentiment);
  });
}

/// Reuters-like topic classification: 46 topics with Zipf-skewed frequencies (Reuters' are
/// dominated by two topics), each with its own topic words; a newswire of 20-150 words mixes
/// topic words (probability `signal`) into the background, and is encoded as Keras'
/// Tokenizer(num_words=vocab).sequences_to_matrix(mode="binary") does: 1.0 where a word occurs.
DataSplit load_reuters_bow(const DataSpec& spec, uint64_t seed) {
  const int64_t vocab = data_count_param(spec, "vocab", 1000);
  const int64_t topics = data_count_param(spec, "classes", 46);
  const double signal = data_param(spec, "signal", 0.1);
  DYNFAULT_CHECK(signal > 0 && signal < 1, "data set 'reuters_bow': need 0 < signal < 1");
  const ZipfWords words(vocab);
  const auto topic_words = signal_words(vocab, topics, data_count_param(spec, "topic_words", 15));
  std::vector<double> prior_cdf;
  double total = 0;
  for (int64_t k = 0; k < topics; ++k) {
    total += 1.0 / std::pow(static_cast<double>(k + 1), 1.2);
    prior_cdf.push_back(total);
  }
  for (double& c : prior_cdf) c /= total;

  Rng rng(seed);
  return generated_split(spec, rng, 3000, 1000, [&](Rng& r, int64_t n) {
    Dataset d;
    d.num_classes = topics;
    d.sample_shape = {vocab};
    d.x.assign(static_cast<size_t>(n * vocab), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      const auto it = std::upper_bound(prior_cdf.begin(), prior_cdf.end(), r.uniform());
      const int64_t c = std::min<int64_t>(it - prior_cdf.begin(), topics - 1);
      const auto& own = topic_words[static_cast<size_t>(c)];
      const int64_t len = 20 + static_cast<int64_t>(r.below(131));
      float* row = d.x.data() + i * vocab;
      for (int64_t t = 0; t < len; ++t) {
        const int64_t w = r.uniform() < signal ? own[r.below(own.size())] : words.draw(r);
        row[w] = 1.0f;
      }
      d.y.push_back(static_cast<float>(c));
    }
    return d;
  });
}

}  // namespace

DYNFAULT_REGISTER(data_loader_registry(), "imdb_tokens", load_imdb_tokens);
DYNFAULT_REGISTER(data_loader_registry(), "reuters_bow", load_reuters_bow);

}  // namespace dynfault::programs
