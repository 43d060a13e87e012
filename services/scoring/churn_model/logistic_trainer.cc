#include "services/scoring/churn_model/logistic_trainer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/scoring/churn_model/evaluation.h"

namespace steward::scoring::churn_model {
namespace {

// The training rows standardised once, each with a leading 1 for the intercept, so that the Newton
// passes treat the intercept as coefficient 0 and need no special case but the penalty.
struct Standardized {
  size_t rows = 0;
  size_t width = 0;            // features + 1
  std::vector<double> values;  // rows × width, row-major
  std::vector<double> means;
  std::vector<double> scales;
  const double* row(size_t r) const { return values.data() + r * width; }
};

Standardized Standardize(const DesignMatrix& x) {
  Standardized s;
  s.rows = x.rows();
  s.width = x.cols() + 1;
  s.means.assign(x.cols(), 0.0);
  s.scales.assign(x.cols(), 0.0);
  for (size_t r = 0; r < s.rows; ++r) {
    for (size_t j = 0; j < x.cols(); ++j) s.means[j] += x.row(r)[j];
  }
  for (double& mean : s.means) mean /= static_cast<double>(s.rows);
  for (size_t r = 0; r < s.rows; ++r) {
    for (size_t j = 0; j < x.cols(); ++j) {
      const double d = x.row(r)[j] - s.means[j];
      s.scales[j] += d * d;
    }
  }
  for (size_t j = 0; j < x.cols(); ++j) {
    const double sd = std::sqrt(s.scales[j] / static_cast<double>(s.rows));
    // A feature constant in training is all zeros once centred; scale 1 keeps it so (not 0/0) and the
    // penalty then holds its weight at 0. The relative threshold absorbs rounding in the mean.
    s.scales[j] = sd > 1e-12 * std::max(1.0, std::abs(s.means[j])) ? sd : 1.0;
  }
  s.values.resize(s.rows * s.width);
  for (size_t r = 0; r < s.rows; ++r) {
    double* out = s.values.data() + r * s.width;
    out[0] = 1.0;
    for (size_t j = 0; j < x.cols(); ++j) out[j + 1] = (x.row(r)[j] - s.means[j]) / s.scales[j];
  }
  return s;
}

double Dot(const double* a, const double* b, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Per-row log loss from the logit η, without forming σ(η): log(1 + e^η) − yη, written so that exp only
// sees non-positive arguments.
double RowLogLoss(double eta, int label) {
  return std::max(eta, 0.0) + std::log1p(std::exp(-std::abs(eta))) - label * eta;
}

double Penalty(const std::vector<double>& beta, double lambda) {
  double sum = 0;
  for (size_t j = 1; j < beta.size(); ++j) sum += beta[j] * beta[j];
  return 0.5 * lambda * sum;
}

double MeanLogLoss(const Standardized& s, absl::Span<const int> labels, const std::vector<double>& beta) {
  double sum = 0;
  for (size_t r = 0; r < s.rows; ++r) sum += RowLogLoss(Dot(s.row(r), beta.data(), s.width), labels[r]);
  return sum / static_cast<double>(s.rows);
}

// Objective, gradient and Hessian (upper triangle filled, then mirrored) at beta, in one pass.
//
// The Hessian Σ p(1−p) x xᵀ is nearly all of the training time. Rows go through it four at a time, so
// each Hessian entry is loaded and stored once per four rows instead of once per row: memory traffic,
// not arithmetic, bounds this loop (about 2× faster than one row at a time at 40 features).
double ObjectiveGradientHessian(const Standardized& s, absl::Span<const int> labels,
                                const std::vector<double>& beta, double lambda, std::vector<double>& gradient,
                                std::vector<double>& hessian) {
  constexpr size_t kBlock = 4;
  const size_t w = s.width;
  gradient.assign(w, 0.0);
  hessian.assign(w * w, 0.0);
  double loss = 0;
  const double* x[kBlock];
  double weight[kBlock];
  size_t r = 0;
  while (r < s.rows) {
    const size_t block = std::min(kBlock, s.rows - r);
    for (size_t b = 0; b < kBlock; ++b) {
      if (b < block) {
        x[b] = s.row(r + b);
        const double eta = Dot(x[b], beta.data(), w);
        const double p = Sigmoid(eta);
        const int label = labels[r + b];
        loss += RowLogLoss(eta, label);
        const double residual = p - label;
        for (size_t j = 0; j < w; ++j) gradient[j] += residual * x[b][j];
        weight[b] = p * (1 - p);
      } else {  // a short last block: repeat a row with weight 0
        x[b] = x[0];
        weight[b] = 0;
      }
    }
    for (size_t j = 0; j < w; ++j) {
      const double a0 = weight[0] * x[0][j], a1 = weight[1] * x[1][j], a2 = weight[2] * x[2][j],
                   a3 = weight[3] * x[3][j];
      double* h = hessian.data() + j * w;
      for (size_t k = j; k < w; ++k) h[k] += a0 * x[0][k] + a1 * x[1][k] + a2 * x[2][k] + a3 * x[3][k];
    }
    r += block;
  }
  const double inv_n = 1.0 / static_cast<double>(s.rows);
  for (size_t j = 0; j < w; ++j) {
    gradient[j] *= inv_n;
    for (size_t k = j; k < w; ++k) hessian[j * w + k] *= inv_n;
  }
  for (size_t j = 1; j < w; ++j) {
    gradient[j] += lambda * beta[j];
    hessian[j * w + j] += lambda;
  }
  for (size_t j = 0; j < w; ++j) {
    for (size_t k = 0; k < j; ++k) hessian[j * w + k] = hessian[k * w + j];
  }
  return loss * inv_n + Penalty(beta, lambda);
}

// Solves H d = rhs for symmetric positive definite H (n × n, row-major) by Cholesky, in place of a copy.
// False when H is not positive definite.
bool CholeskySolve(std::vector<double> h, size_t n, std::vector<double>& rhs) {
  for (size_t j = 0; j < n; ++j) {
    double diagonal = h[j * n + j];
    for (size_t k = 0; k < j; ++k) diagonal -= h[j * n + k] * h[j * n + k];
    if (!(diagonal > 0)) return false;
    const double l_jj = std::sqrt(diagonal);
    h[j * n + j] = l_jj;
    for (size_t i = j + 1; i < n; ++i) {
      double sum = h[i * n + j];
      for (size_t k = 0; k < j; ++k) sum -= h[i * n + k] * h[j * n + k];
      h[i * n + j] = sum / l_jj;
    }
  }
  for (size_t i = 0; i < n; ++i) {  // L y = rhs
    for (size_t k = 0; k < i; ++k) rhs[i] -= h[i * n + k] * rhs[k];
    rhs[i] /= h[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {  // Lᵀ d = y
    for (size_t k = i + 1; k < n; ++k) rhs[i] -= h[k * n + i] * rhs[k];
    rhs[i] /= h[i * n + i];
  }
  return true;
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

struct NewtonResult {
  std::vector<double> beta;
  FitStatistics stats;
};

absl::StatusOr<NewtonResult> Newton(const Standardized& s, absl::Span<const int> labels, double lambda,
                                    std::vector<double> beta, int max_iterations, double tolerance) {
  std::vector<double> gradient, hessian;
  NewtonResult result;
  double objective = ObjectiveGradientHessian(s, labels, beta, lambda, gradient, hessian);
  int iterations = 0;
  bool converged = MaxAbs(gradient) < tolerance;
  while (!converged && iterations < max_iterations) {
    std::vector<double> step(gradient.size());
    for (size_t j = 0; j < step.size(); ++j) step[j] = -gradient[j];
    if (!CholeskySolve(hessian, s.width, step)) {
      return absl::FailedPreconditionError(absl::StrCat("Hessian is not positive definite at iteration ",
                                                        iterations,
                                                        " (collinear features with lambda = ", lambda, "?)"));
    }
    // Step halving with the Armijo condition: a full Newton step is taken near the optimum (quadratic
    // convergence), a shorter one far from it, where the quadratic model overshoots.
    const double slope = Dot(gradient.data(), step.data(), step.size());  // < 0: a descent direction
    double t = 1.0;
    std::vector<double> candidate(beta.size());
    bool decreased = false;
    for (int halving = 0; halving < 40; ++halving, t *= 0.5) {
      for (size_t j = 0; j < beta.size(); ++j) candidate[j] = beta[j] + t * step[j];
      const double f = MeanLogLoss(s, labels, candidate) + Penalty(candidate, lambda);
      if (f <= objective + 1e-4 * t * slope) {
        decreased = true;
        break;
      }
    }
    if (!decreased) break;  // at the floor of floating-point precision: nothing left to gain
    beta.swap(candidate);
    ++iterations;
    objective = ObjectiveGradientHessian(s, labels, beta, lambda, gradient, hessian);
    converged = MaxAbs(gradient) < tolerance;
  }
  result.stats.iterations = iterations;
  result.stats.converged = converged;
  result.stats.train_rows = s.rows;
  result.stats.objective = objective;
  result.stats.train_log_loss = objective - Penalty(beta, lambda);
  result.stats.gradient_max_abs = MaxAbs(gradient);
  size_t positives = 0;
  for (int label : labels) positives += label;
  result.stats.train_positive_rate = static_cast<double>(positives) / static_cast<double>(s.rows);
  result.beta = std::move(beta);
  return result;
}

absl::Status ValidateTrainingInputs(const LabeledData& train, double lambda, int max_iterations,
                                    double tolerance) {
  if (absl::Status status = ValidateLabeledData(train); !status.ok()) return status;
  size_t positives = 0;
  for (int label : train.labels) positives += label;
  if (positives == 0 || positives == train.labels.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("training labels are all ", positives == 0 ? 0 : 1, ": need both classes"));
  }
  if (!std::isfinite(lambda) || lambda < 0) {
    return absl::InvalidArgumentError(absl::StrCat("lambda ", lambda, " is not a finite value >= 0"));
  }
  if (max_iterations < 1) return absl::InvalidArgumentError("max_iterations must be >= 1");
  if (!(tolerance > 0)) return absl::InvalidArgumentError("gradient_tolerance must be > 0");
  return absl::OkStatus();
}

// The intercept that fits the base rate: a better start than 0 when churn is rare.
std::vector<double> InitialBeta(const Standardized& s, absl::Span<const int> labels) {
  double positives = 0;
  for (int label : labels) positives += label;
  const double rate = positives / static_cast<double>(s.rows);
  std::vector<double> beta(s.width, 0.0);
  beta[0] = std::log(rate / (1 - rate));
  return beta;
}

LogisticModel ToModel(const DesignMatrix& x, const Standardized& s, const NewtonResult& fit, double lambda) {
  LogisticModel model;
  model.feature_names = x.feature_names;
  model.means = s.means;
  model.scales = s.scales;
  model.intercept = fit.beta[0];
  model.weights.assign(fit.beta.begin() + 1, fit.beta.end());
  model.lambda = lambda;
  model.stats = fit.stats;
  return model;
}

}  // namespace

absl::StatusOr<LogisticModel> TrainLogistic(const LabeledData& train, const TrainOptions& options) {
  if (absl::Status status =
          ValidateTrainingInputs(train, options.lambda, options.max_iterations, options.gradient_tolerance);
      !status.ok()) {
    return status;
  }
  const Standardized s = Standardize(train.x);
  absl::StatusOr<NewtonResult> fit = Newton(s, train.labels, options.lambda, InitialBeta(s, train.labels),
                                            options.max_iterations, options.gradient_tolerance);
  if (!fit.ok()) return fit.status();
  return ToModel(train.x, s, *fit, options.lambda);
}

absl::StatusOr<LambdaSearchResult> TrainWithLambdaSearch(const LabeledData& train,
                                                         const LabeledData& validation,
                                                         const LambdaSearchOptions& options) {
  if (options.lambdas.empty()) return absl::InvalidArgumentError("lambda grid is empty");
  std::vector<double> lambdas = options.lambdas;
  std::sort(lambdas.begin(), lambdas.end(), std::greater<>());
  for (double lambda : lambdas) {
    if (absl::Status status =
            ValidateTrainingInputs(train, lambda, options.max_iterations, options.gradient_tolerance);
        !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = ValidateLabeledData(validation); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("validation data: ", status.message()));
  }
  if (validation.x.feature_names != train.x.feature_names) {
    return absl::InvalidArgumentError("validation features differ from the training features");
  }

  const Standardized s = Standardize(train.x);
  LambdaSearchResult result;
  std::vector<double> beta = InitialBeta(s, train.labels);
  double best_log_loss = 0;
  for (double lambda : lambdas) {
    absl::StatusOr<NewtonResult> fit =
        Newton(s, train.labels, lambda, beta, options.max_iterations, options.gradient_tolerance);
    if (!fit.ok()) return fit.status();
    beta = fit->beta;  // warm start for the next, smaller λ
    LogisticModel model = ToModel(train.x, s, *fit, lambda);
    absl::StatusOr<std::vector<double>> predicted = PredictProbabilities(model, validation.x);
    if (!predicted.ok()) return predicted.status();
    absl::StatusOr<double> log_loss = LogLoss(*predicted, validation.labels);
    absl::StatusOr<double> auc = RocAuc(*predicted, validation.labels);
    if (!log_loss.ok()) return log_loss.status();
    if (!auc.ok())
      return absl::InvalidArgumentError(absl::StrCat("validation data: ", auc.status().message()));
    result.trials.push_back({lambda, *log_loss, *auc, fit->stats.iterations, fit->stats.converged});
    if (result.trials.size() == 1 || *log_loss < best_log_loss) {
      best_log_loss = *log_loss;
      model.stats.validation_rows = validation.x.rows();
      model.stats.validation_log_loss = *log_loss;
      model.stats.validation_auc = *auc;
      result.model = std::move(model);
    }
  }
  return result;
}

}  // namespace steward::scoring::churn_model
