// The plugin side of the plugin contract. Include this in a plugin library (never in a
// host) and register each plugin class once:
//
//   class FftBlock : public sigx::Model {
//   public:
//       static sigx::Descriptor describe();           // name, version, description, params
//       explicit FftBlock(const sigx::Params& p);     // validated params, defaults filled in
//       sigx::Prediction predict(const sigx::Input&, const sigx::Task&, sigx::Host&) override;
//   };
//   SIGX_PLUGIN(FftBlock)   // at global scope; the class name as a plain identifier
//
// The library then exports one plain C function, `sigx_plugin_library` (see abi.hpp),
// returning a record that lists every registered class. Build plugins with hidden
// visibility (sigx_add_plugin does), so that nothing else is exported but the type
// information of the SDK's SIGX_API classes.
#pragma once

#include <sigx/abi.hpp>
#include <sigx/plugin.hpp>

#include <type_traits>
#include <vector>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN
namespace detail {

template <class T> using base_of =
    std::conditional_t<std::is_base_of_v<Generator, T>, Generator,
                       std::conditional_t<std::is_base_of_v<Model, T>, Model,
                                          std::conditional_t<std::is_base_of_v<Trainer, T>, Trainer, Evaluator>>>;

template <class T> constexpr Kind kind_of() {
    using B = base_of<T>;
    static_assert(std::is_base_of_v<B, T>, "a sigx plugin derives from Generator, Model, Trainer or Evaluator");
    if constexpr (std::is_same_v<B, Generator>)
        return Kind::generator;
    else if constexpr (std::is_same_v<B, Model>)
        return Kind::model;
    else if constexpr (std::is_same_v<B, Trainer>)
        return Kind::trainer;
    else
        return Kind::evaluator;
}

template <class T, class = void> struct flags_of { static constexpr std::uint32_t value = 0; };
template <class T> struct flags_of<T, std::void_t<decltype(T::plugin_flags)>> {
    static constexpr std::uint32_t value = T::plugin_flags;
};

template <class T> const void* describe() {
    static const Descriptor d = [] {
        Descriptor r = T::describe();
        r.kind = kind_of<T>();
        return r;
    }();
    return &d;
}

// Returns the kind's base pointer, so the host can use it without a cross-library cast.
template <class T> void* create(const void* params) {
    base_of<T>* p = new T(*static_cast<const Params*>(params));
    return p;
}

template <class T> inline constexpr sigx_plugin_entry entry = {static_cast<std::uint32_t>(kind_of<T>()),
                                                               flags_of<T>::value, &describe<T>, &create<T>};

// This library's registered classes (hidden visibility: one list per library).
inline std::vector<const sigx_plugin_entry*>& entries() {
    static std::vector<const sigx_plugin_entry*> list;
    return list;
}
inline bool add(const sigx_plugin_entry* e) {
    entries().push_back(e);
    return true;
}
inline std::uint32_t count() { return static_cast<std::uint32_t>(entries().size()); }
inline const sigx_plugin_entry* entry_at(std::uint32_t i) { return i < count() ? entries()[i] : nullptr; }

inline const sigx_library library_record = {current_abi_record(), &count, &entry_at};

}  // namespace detail
SIGX_ABI_NAMESPACE_END
}  // namespace sigx

// Inline: every translation unit that includes this header may carry it, the library
// has one ("used" keeps it where no one in the library calls it).
extern "C" inline __attribute__((visibility("default"), used)) const sigx_library* sigx_plugin_library(void) {
    return &sigx::detail::library_record;
}

#define SIGX_PLUGIN(Class)                                                                                    \
    namespace {                                                                                               \
    [[maybe_unused]] const bool sigx_registered_##Class = ::sigx::detail::add(&::sigx::detail::entry<Class>); \
    }
