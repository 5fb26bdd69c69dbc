// Test double of TensorRT-LLM's `executor/tensor.h` (declarations read at
// commit 7423841): the Tensor handle the executor's configuration types carry.
// Not upstream code; `Shape` keeps the real constructors without the
// `common::ArrayView` base.
#pragma once

#include "tensorrt_llm/common/config.h"
#include "tensorrt_llm/executor/types.h"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <vector>

TRTLLM_DOUBLE_BEGIN(runtime)
class ITensor;
class CudaStream;
TRTLLM_DOUBLE_END(runtime)

TRTLLM_DOUBLE_BEGIN(executor)

class Tensor;

namespace detail
{
std::shared_ptr<runtime::ITensor> const& toITensor(Tensor const& tensor);
Tensor ofITensor(std::shared_ptr<runtime::ITensor> tensor);
using DimType64 = int64_t;
} // namespace detail

/// The real Shape is a view (common::ArrayView) over the dimensions; the
/// double keeps a copy, with the same constructors.
class Shape
{
public:
    using DimType64 = detail::DimType64;

    Shape() = default;

    Shape(DimType64 const* data, std::size_t size)
        : mDims(data, data + size)
    {
    }

    Shape(std::initializer_list<DimType64> dims) // NOLINT(*-explicit-constructor)
        : mDims(dims)
    {
    }

    [[nodiscard]] std::size_t size() const
    {
        return mDims.size();
    }

private:
    std::vector<DimType64> mDims;
};

class Tensor
{
public:
    using CudaStreamPtr = std::shared_ptr<runtime::CudaStream>;

    static Tensor cpu(DataType dataType, Shape shape = {});
    static Tensor pinned(DataType dataType, Shape shape = {});
    static Tensor pooledPinned(DataType dataType, Shape shape = {});
    static Tensor managed(DataType dataType, Shape shape = {});
    static Tensor gpu(DataType dataType, CudaStreamPtr stream, Shape shape = {});
    static Tensor of(DataType dataType, void* data, Shape shape);

    [[nodiscard]] Tensor copyToCpu(Tensor::CudaStreamPtr stream = nullptr) const;
    [[nodiscard]] Tensor copyToPinned(Tensor::CudaStreamPtr stream = nullptr) const;
    [[nodiscard]] Tensor copyToPooledPinned(Tensor::CudaStreamPtr stream = nullptr) const;
    [[nodiscard]] Tensor copyToManaged(Tensor::CudaStreamPtr stream = nullptr) const;
    [[nodiscard]] Tensor copyToGpu(Tensor::CudaStreamPtr stream) const;

    Tensor() noexcept = default;
    ~Tensor() = default;
    Tensor(Tensor const& other) noexcept = default;
    Tensor(Tensor&& other) noexcept = default;
    Tensor& operator=(Tensor const& other) noexcept = default;
    Tensor& operator=(Tensor&& other) noexcept = default;

    [[nodiscard]] void* getData();
    [[nodiscard]] void const* getData() const;
    [[nodiscard]] DataType getDataType() const;
    [[nodiscard]] MemoryType getMemoryType() const;
    [[nodiscard]] Shape getShape() const;
    [[nodiscard]] std::size_t getSize() const;
    [[nodiscard]] std::size_t getSizeInBytes() const;

    void setZero(CudaStreamPtr stream = nullptr);
    void setFrom(Tensor const& other, CudaStreamPtr stream = nullptr);

    explicit operator bool() const
    {
        return static_cast<bool>(mTensor);
    }

    bool operator==(Tensor const& rhs) const
    {
        return mTensor == rhs.mTensor;
    }

    bool operator!=(Tensor const& rhs) const
    {
        return !(rhs == *this);
    }

private:
    using Impl = runtime::ITensor;
    explicit Tensor(std::shared_ptr<runtime::ITensor> tensor);

    std::shared_ptr<Impl> mTensor;

    friend std::shared_ptr<runtime::ITensor> const& detail::toITensor(Tensor const& tensor);
    friend Tensor detail::ofITensor(std::shared_ptr<runtime::ITensor> tensor);
    friend class Serialization;
};

TRTLLM_DOUBLE_END(executor)
